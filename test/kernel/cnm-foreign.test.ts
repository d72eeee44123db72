/**
 * The Controller beside what it did not make, on real bridges, veths and namespaces, each test in a world of its own:
 * interfaces and tags of someone else's, what a crash left, and a firewall flushed by another tool (nftables and
 * iptables). tsnet reports them, repairs only its own, and never acts on the rest.
 */
import { existsSync } from 'node:fs';
import { expect, it } from 'vitest';
import type { BridgeConfig } from '../../src/drivers/bridge/options.js';
import { BACKENDS } from '../helpers/firewall-backends.js';
import { describeKernel } from '../helpers/lab.js';
import { UPSTREAM, useWorld } from '../helpers/world.js';

const bridgeName = (n: { config: object }): string => (n.config as BridgeConfig).bridgeName;
describeKernel('CNM: never acting on what tsnet did not create', () => {
  const world = useWorld();

  it('refuses a bridge name that another interface holds, naming it, and tags nothing', async () => {
    const { ctl, lab: l } = world();
    for (const name of ['uplink0', 'lo']) {
      const err = await ctl.createNetwork({ name: `n-${name}`, options: { 'com.docker.network.bridge.name': name } }).catch((e: unknown) => e);
      expect(err).toMatchObject({
        code: 'TSNET_ERR_CONFLICT',
        message: expect.stringMatching(new RegExp(`^the name "${name}" is taken by an interface tsnet did not create`, 'u')) as string,
      });
    }
    const links = await l.ip(l.host, 'link');
    expect(links.filter((x) => x.ifalias)).toEqual([]);
    // A restart finds nothing to remove: no foreign interface was tagged.
    const report = await world().reopen();
    expect(report.removed).toEqual([]);
    expect((await l.ip(l.host, 'link')).map((x) => x.ifname)).toEqual(links.map((x) => x.ifname));
  });

  it('reports a tag on a kind of link tsnet never makes, and starts anyway', async () => {
    const { lab: l } = world();
    const tag = `tsnet:network:${'1'.repeat(64)}`;
    await l.exec(l.host, 'ip', ['link', 'set', 'lo', 'alias', tag]);
    const report = await world().reopen();
    expect(report.leftAlone).toEqual([`lo: tagged ${tag} but a device without a kind, which tsnet never makes`]);
    expect(report.removed).toEqual([]);
    expect((await l.ip(l.host, 'link', 'show', 'lo'))[0]).toMatchObject({ ifname: 'lo', group: 'default' });
  });

  it("removes what a crash left inside a sandbox's namespace (an interface no endpoint records)", async () => {
    const { ctl, lab: l, sandbox } = world();
    await ctl.createNetwork({ name: 'net-a', subnet: '10.31.0.0/24' });
    const s = await sandbox('s1');
    await ctl.connect('net-a', s.id);
    await ctl.close();
    // As if tsnet died between making a veth and recording its endpoint.
    await l.exec(l.host, 'ip', ['link', 'add', 'vethleft', 'type', 'veth', 'peer', 'name', 'eth1', 'netns', s.netnsPath!]);
    const report = await world().reopen();
    expect(report.removed).toEqual([`interface eth1 in sandbox ${s.id.slice(0, 12)}: no endpoint records it`]);
    expect((await l.ip(s.ns, 'link')).map((x) => x.ifname)).toEqual(['lo', 'eth0']);
    expect((await l.ip(l.host, 'link')).map((x) => x.ifname)).not.toContain('vethleft'); // the pair went with it
    expect((await world().ctl.connect('net-a', (await sandbox('s2')).id)).ifname).toBe('eth0');
  });

  it('treats a namespace file that is no longer a namespace as gone, and starts anyway', async () => {
    const { ctl, lab: l, sandbox } = world();
    await ctl.createNetwork({ name: 'net-a', subnet: '10.31.0.0/24' });
    const s = await sandbox('s1');
    await ctl.connect('net-a', s.id);
    await ctl.close();
    // Unmounted (as a restart in another mount namespace, or a crash before the bind mount, leaves it): a plain file.
    await l.exec(l.host, 'umount', ['-n', s.netnsPath!]);
    const report = await world().reopen();
    expect(report.removed).toContain(`sandbox ${s.id.slice(0, 12)}: its namespace ${s.netnsPath} is gone (and with it 1 endpoint(s))`);
    expect(world().ctl.sandboxes()).toEqual([]);
    expect(existsSync(s.netnsPath!)).toBe(false);
  });

  it('reports an unrecorded tagged link and a missing bridge without touching them, and repairs both with fix', async () => {
    const { ctl, lab: l } = world();
    const a = await ctl.createNetwork({ name: 'net-a', subnet: '10.31.0.0/24' });
    await l.exec(l.host, 'ip', ['link', 'del', bridgeName(a)]);
    await l.exec(l.host, 'ip', ['link', 'add', 'orphan0', 'type', 'bridge']);
    await l.exec(l.host, 'ip', ['link', 'set', 'orphan0', 'alias', `tsnet:network:${'0'.repeat(64)}`]);
    const found = await ctl.doctor(false);
    expect(found.removed).toEqual(['network interface orphan0: no network records it']);
    expect(found.recreated).toContain('network net-a: its kernel object (bridge) is missing');
    expect((await l.ip(l.host, 'link')).map((x) => x.ifname)).toContain('orphan0');
    await ctl.doctor(true);
    const links = (await l.ip(l.host, 'link')).map((x) => x.ifname);
    expect(links).not.toContain('orphan0');
    expect(links).toContain(bridgeName(a));
  });
});

for (const fw of BACKENDS)
  describeKernel(`CNM: a firewall flushed by someone else (${fw.backend})`, () => {
    const world = useWorld({ firewallBackend: fw.backend });

    it('finds a flushed firewall, reports it without --fix, and restores it with it: NAT and isolation come back', async () => {
      const { ctl, lab: l, sandbox } = world();
      const a = await ctl.createNetwork({ name: 'net-a', subnet: '10.31.0.0/24' });
      const s = await sandbox('s1');
      await ctl.connect('net-a', s.id);
      expect(await ctl.doctor(false)).toEqual({ removed: [], recreated: [], broken: [], leftAlone: [] });
      // What a firewalld reload does to other tools' rules.
      await fw.flushEverything(l);
      expect(await l.pingResult(s.ns, UPSTREAM.server)).toBe('no-reply');
      const found = await ctl.doctor(false);
      expect(found.recreated).toContainEqual(fw.flushedReport('10.31.0.0/24', bridgeName(a), a.id));
      expect(await fw.rules(l)).not.toContain(`tsnet:${a.id}`); // only reported
      const fixed = await ctl.doctor(true);
      expect(fixed.recreated).toEqual(found.recreated);
      expect(await l.pingResult(s.ns, UPSTREAM.server)).toBe('reached');
      expect(await ctl.doctor(false)).toEqual({ removed: [], recreated: [], broken: [], leftAlone: [] });
      // The daemon's periodic check does the same on its own.
      await fw.flushMasquerade(l);
      expect((await ctl.repairDriverState()).length).toBe(1);
      expect(await l.pingResult(s.ns, UPSTREAM.server)).toBe('reached');
    });
  });
