/**
 * The nftables backend on a real kernel, each test in namespaces of its own: what it writes is what `nft` (an
 * independent reader) lists; a firewall change runs no process; publishing a port changes set elements only (seen
 * by `nft monitor`); a table changed behind tsnet's back is rewritten; a refused transaction changes nothing; and
 * switching backends removes what the other one left. Firewall behaviour with real packets is in cnm.test.ts and
 * ports.test.ts, which run on both backends.
 */
import type * as childProcess from 'node:child_process';
import { spawn } from 'node:child_process';
import { afterEach, expect, it, vi } from 'vitest';
import type { Controller } from '../../src/cnm/controller.js';
import type { NetworkFirewall } from '../../src/iptables/rules.js';
import { firewallNetwork, publishedPort } from '../helpers/network-firewall.js';
import { NftablesFirewaller } from '../../src/nftables/firewaller.js';
import { describeKernel, useLab, type Lab } from '../helpers/lab.js';
import { openController } from '../../src/daemon/network-wiring.js';
import { UPSTREAM, useWorld } from '../helpers/world.js';
import type { NetNs } from '../../src/netns/netns.js';
import { Handle } from '../../src/netlink/handle.js';
import { NetlinkError } from '../../src/netlink/errors.js';
import { Errno } from '../../src/native/errno.js';

// Every process started from this file's modules (tsnet's included) is counted, and still started.
const started = vi.hoisted(() => ({ commands: [] as string[] }));
vi.mock('node:child_process', async (importOriginal) => {
  const real = await importOriginal<typeof childProcess>();
  const { promisify } = await import('node:util');
  const record = <F extends (...args: never[]) => unknown>(f: F): F => {
    const wrapped = ((...args: Parameters<F>) => {
      started.commands.push(String(args[0]));
      return f(...args);
    }) as unknown as F;
    // execFile's promisified form (which the tests' own helpers use) is counted too.
    const custom = (f as unknown as Record<symbol, ((...a: unknown[]) => unknown) | undefined>)[promisify.custom];
    if (custom) {
      Object.defineProperty(wrapped, promisify.custom, {
        value: (...args: unknown[]) => {
          started.commands.push(String(args[0]));
          return custom(...args);
        },
      });
    }
    return wrapped;
  };
  return { ...real, spawn: record(real.spawn), execFile: record(real.execFile), execFileSync: record(real.execFileSync), spawnSync: record(real.spawnSync) };
});

const net = (over: Partial<NetworkFirewall> = {}): NetworkFirewall => firewallNetwork({ bridge: 'br-aaa', subnets6: ['fd00:1::/64'], ...over });
const port = publishedPort;

/** A sandbox that publishes tcp 8080 to its port 80. */
const publisher = (ctl: Controller): ReturnType<Controller['createSandbox']> =>
  ctl.createSandbox({ containerId: 'p-container', containerName: 'p', hostname: 'p', publish: [{ protocol: 'tcp', containerPort: 80, hostPort: 8080 }] });

/** `nft monitor` in ns, from a marker change to another, so that exactly what happened between them is read. */
async function monitor(l: Lab, ns: NetNs, during: () => Promise<void>): Promise<string[]> {
  const child = spawn('nsenter', [`--net=${ns.path}`, '--', 'nft', 'monitor'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const marker = async (name: string): Promise<void> => {
    // The monitor may not listen yet: mark until it has seen the marker.
    for (let i = 0; i < 100 && !out.includes(`delete table inet ${name}`); i++) {
      await l.exec(ns, 'nft', ['add', 'table', 'inet', name]);
      await l.exec(ns, 'nft', ['delete', 'table', 'inet', name]);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(out).toContain(`delete table inet ${name}`);
  };
  try {
    await marker('begin');
    const from = out.length;
    await during();
    await marker('end');
    return out
      .slice(from, out.indexOf('add table inet end'))
      .split('\n')
      .filter((line) => line.trim() !== '' && !line.startsWith('#'));
  } finally {
    child.kill();
  }
}

describeKernel('nftables firewall', () => {
  const lab = useLab();
  afterEach(() => void (started.commands.length = 0));

  it('writes the table nft lists: base chains, a network of its own chains, a port as map elements', async () => {
    const ns = lab().ns('list');
    const fw = new NftablesFirewaller(ns);
    await fw.apply([net({ published: [port] })]);
    const text = await lab().nftTable(ns);
    fw.close();
    expect(text).toMatch(/chain forward \{\n\s+type filter hook forward priority filter; policy accept;\n\s+jump user comment "tsnet"/u);
    expect(text).toContain('elements = { "br-aaa" : jump from-br-aaa }');
    expect(text).toContain('elements = { tcp . 8080 : 10.1.0.2 . 80 }');
    expect(text).toContain('elements = { 10.1.0.2 . tcp . 80 }');
    expect(text).toContain(`ip saddr 10.1.0.0/24 oifname != "br-aaa" masquerade comment "tsnet:${'a'.repeat(64)}"`);
    expect(text).toContain(`ct status dnat ip6 saddr fd00:1::/64 masquerade comment "tsnet:${'a'.repeat(64)}"`);
    expect(text).toContain(`counter packets 0 bytes 0 drop comment "tsnet:${'a'.repeat(64)}"`);
  });

  it('rewrites a table changed behind its back, and refuses a change the kernel cannot make without changing anything', async () => {
    const ns = lab().ns('heal');
    const fw = new NftablesFirewaller(ns);
    const b = net({ id: 'b'.repeat(64), bridge: 'br-bbb', subnets: ['10.2.0.0/24'], subnets6: [] });
    await fw.apply([net(), b]);
    // Someone removes one of tsnet's elements: the difference for removing network a no longer applies.
    await lab().exec(ns, 'nft', ['delete', 'element', 'inet', 'tsnet', 'fwd_from', '{ "br-aaa" }']);
    await fw.apply([b]);
    const healed = await lab().nftTable(ns);
    expect(healed).not.toContain('br-aaa');
    expect(healed).toContain('elements = { "br-bbb" : jump from-br-bbb }');
    // The user's chain jumps to b's chain: b's removal cannot be made, and nothing of it is.
    await lab().exec(ns, 'nft', ['add', 'rule', 'inet', 'tsnet', 'user', 'jump', 'to-br-bbb']);
    const before = await lab().nftTable(ns);
    await expect(fw.apply([])).rejects.toThrow(/nftables: the transaction was refused, nothing of it applied: .*EBUSY/u);
    expect(await lab().nftTable(ns)).toBe(before);
    expect(await fw.missing([b])).toEqual([]);
    fw.close();
  });

  it('removes what the iptables backend left when it takes over, and the other way round', async () => {
    const l = lab();
    const host = l.ns('switch');
    const open = async (firewallBackend: 'nftables' | 'iptables') =>
      (await openController({ root: `${l.dir}/switch-state`, hostNs: host, netnsDir: `${l.dir}/switch-netns`, firewallBackend })).controller;
    const iptablesSave = async (): Promise<string> => (await l.exec(host, 'iptables-save', [])).stdout;
    const first = await open('iptables');
    const a = await first.createNetwork({ name: 'a', subnet: '10.61.0.0/24' });
    expect(await iptablesSave()).toContain(`tsnet:${a.id}`);
    await first.close();
    const second = await open('nftables');
    expect(await iptablesSave()).not.toMatch(/TSNET-(FORWARD|POSTROUTING|ISOLATION)/u);
    expect(await l.nftTable(host)).toContain(`tsnet:${a.id}`);
    await second.close();
    const third = await open('iptables');
    expect(await l.nftTable(host)).not.toContain('tsnet:');
    expect(await iptablesSave()).toContain(`tsnet:${a.id}`);
    await third.deleteNetwork('a');
    await third.close();
  });
});

describeKernel('nftables firewall through the Controller', () => {
  const world = useWorld({ firewallBackend: 'nftables' });

  it('runs no process for any firewall change: network create and delete, publish and unpublish', async () => {
    const { ctl, sandbox } = world();
    started.commands.length = 0;
    await ctl.createNetwork({ name: 'web', subnet: '10.62.0.0/24' });
    const s = await publisher(ctl);
    await ctl.connect('web', s.id);
    await ctl.deleteSandbox(s.id);
    const other = await sandbox('q');
    await ctl.connect('web', other.id);
    await ctl.disconnect('web', other.id);
    await ctl.deleteNetwork('web');
    expect(started.commands).toEqual([]);
  });

  it("removes a network's rules beside its bridge, and puts them back when the bridge cannot be deleted", async () => {
    const { ctl, lab: l } = world();
    const web = await ctl.createNetwork({ name: 'web', subnet: '10.64.0.0/24' });
    const bridge = `br-${web.id.slice(0, 12)}`;
    const failing = vi.spyOn(Handle.prototype, 'linkDeleteUnlisted').mockRejectedValueOnce(new NetlinkError('delete link', bridge, Errno.EBUSY));
    try {
      await expect(ctl.deleteNetwork('web')).rejects.toThrow(NetlinkError);
    } finally {
      failing.mockRestore();
    }
    expect(ctl.networks().map((n) => n.name)).toContain('web');
    expect((await l.exec(l.host, 'ip', ['-o', 'link', 'show', bridge])).stdout).toContain(bridge);
    expect(await l.nftTable(l.host)).toContain(`jump from-${bridge}`);
    await ctl.deleteNetwork('web');
    expect(await l.nftTable(l.host)).not.toContain(bridge);
    await expect(l.exec(l.host, 'ip', ['link', 'show', bridge])).rejects.toThrow();
  });

  it('publishes and unpublishes a port by set elements alone, as nft monitor sees it', async () => {
    const { ctl, lab: l } = world();
    await ctl.createNetwork({ name: 'web', subnet: '10.63.0.0/24' });
    const s = await publisher(ctl);
    const published = await monitor(l, l.host, async () => void (await ctl.connect('web', s.id)));
    // What a port is in the kernel: its container side in published4, its DNAT in dnat4any; nothing else moves.
    const elements = (op: 'add' | 'delete'): unknown[] => [
      expect.stringMatching(new RegExp(`^${op} element inet tsnet published4 \\{ 10\\.63\\.0\\.\\d+ \\. tcp \\. 80 \\}$`, 'u')),
      expect.stringMatching(new RegExp(`^${op} element inet tsnet dnat4any \\{ tcp \\. 8080 : 10\\.63\\.0\\.\\d+ \\. 80 \\}$`, 'u')),
    ];
    expect(published).toEqual(elements('add'));
    expect(await monitor(l, l.host, () => ctl.deleteSandbox(s.id))).toEqual(elements('delete'));
  });

  it("gives every bridge its accepts with the next new network when iptables' FORWARD turned to drop since tsnet's last change", async () => {
    const { ctl, lab: l, sandbox } = world();
    await ctl.createNetwork({ name: 'early', subnet: '10.65.0.0/24' });
    // dockerd starting after tsnet's last change, as it does beside the Docker plugin, turns FORWARD to drop.
    await l.exec(l.host, 'iptables', ['-P', 'FORWARD', 'DROP']);
    l.host.sysctlWrite('net/bridge/bridge-nf-call-iptables', '1');
    const late = await ctl.createNetwork({ name: 'late', subnet: '10.66.0.0/24' });
    const [a, b] = await Promise.all(['a', 'b'].map(sandbox));
    await ctl.connect('late', a!.id);
    const eb = await ctl.connect('late', b!.id);
    // No check needed in between: the new network's create read the chain again.
    expect(await l.pingResult(a!.ns, eb.ipv4!.split('/')[0]!)).toBe('reached');
    const save = (await l.exec(l.host, 'iptables-save', [])).stdout;
    expect(save).toContain(`-A FORWARD -i ${(late.config as { bridgeName: string }).bridgeName} -m comment --comment "tsnet:${late.id}" -j ACCEPT`);
    expect(await ctl.doctor(false)).toMatchObject({ recreated: [] }); // the earlier network's accepts too
    await ctl.deleteSandboxes([a!.id, b!.id]);
    for (const n of ['late', 'early']) await ctl.deleteNetwork(n);
    expect((await l.exec(l.host, 'iptables-save', [])).stdout).not.toContain('tsnet:');
  });

  it("forwards its bridges' traffic where iptables' FORWARD drops by default (as dockerd sets it), and takes its accepts back", async () => {
    const { ctl, lab: l, sandbox } = world();
    const web = await ctl.createNetwork({ name: 'web', subnet: '10.64.0.0/24' });
    const [a, b] = await Promise.all(['a', 'b'].map(sandbox));
    await ctl.connect('web', a!.id);
    const eb = await ctl.connect('web', b!.id);
    const peer = eb.ipv4!.split('/')[0]!;
    // dockerd starts after the network exists: FORWARD drops by default, and bridged frames go through it too.
    await l.exec(l.host, 'iptables', ['-P', 'FORWARD', 'DROP']);
    l.host.sysctlWrite('net/bridge/bridge-nf-call-iptables', '1');
    expect(await l.pingResult(a!.ns, peer)).toBe('no-reply');
    // The daemon's periodic check (the same as doctor --fix) finds the accepts missing and adds them.
    expect((await ctl.doctor(false)).recreated).toEqual([
      expect.stringMatching(/^bridge driver: nftables: rules "-i br-\w+ -j ACCEPT", "-o br-\w+ -j ACCEPT" in chain ip filter FORWARD$/u),
    ]);
    await ctl.doctor(true);
    expect(await l.pingResult(a!.ns, peer)).toBe('reached');
    expect(await l.pingResult(a!.ns, UPSTREAM.server)).toBe('reached');
    const bridge = (web.config as { bridgeName: string }).bridgeName;
    const save = (await l.exec(l.host, 'iptables-save', [])).stdout;
    expect(save).toContain(`-A FORWARD -i ${bridge} -m comment --comment "tsnet:${web.id}" -j ACCEPT`);
    expect(save).toContain(`-A FORWARD -o ${bridge} -m comment --comment "tsnet:${web.id}" -j ACCEPT`);
    expect(await ctl.doctor(false)).toMatchObject({ recreated: [] });
    await ctl.deleteSandboxes([a!.id, b!.id]);
    await ctl.deleteNetwork('web');
    expect((await l.exec(l.host, 'iptables-save', [])).stdout).not.toContain('tsnet:');
  });
});
