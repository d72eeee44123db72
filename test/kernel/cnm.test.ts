/**
 * The Controller on real bridges, veths, namespaces and firewall (nftables and iptables), each test in a world of its own. Reachability is
 * checked with real packets, and a packet that must not arrive must fail for the expected reason: no route (the
 * kernel refuses to send it) or dropped by tsnet's firewall (its DROP counters move).
 */
import { existsSync } from 'node:fs';
import { expect, it } from 'vitest';
import type { Controller } from '../../src/cnm/controller.js';
import { bridgeMac } from '../../src/drivers/bridge/bridge-driver.js';
import type { BridgeConfig } from '../../src/drivers/bridge/options.js';
import { addressOf as ipOf } from '../../src/ipam/subnet.js';
import { BACKENDS } from '../helpers/firewall-backends.js';
import { describeKernel } from '../helpers/lab.js';
import { UPSTREAM, tcpProbe, useWorld } from '../helpers/world.js';

const bridgeName = (n: { config: object }): string => (n.config as BridgeConfig).bridgeName;
/** The sandbox's IPv4 address on the network, without its prefix length. */
const addressOf = (ctl: Controller, sandboxId: string, networkRef: string): string =>
  ipOf(ctl.endpointsOf({ sandboxId, networkId: ctl.network(networkRef).id })[0]!.ipv4!);

for (const fw of BACKENDS)
  describeKernel(`CNM: networks, sandboxes, endpoints on real bridges (${fw.backend} firewall)`, () => {
    const world = useWorld({ firewallBackend: fw.backend });

    it('builds two networks; containers reach their own network and gateway; the firewall drops what crosses', async () => {
      const { ctl, lab: l, sandbox } = world();
      const a = await ctl.createNetwork({ name: 'net-a', subnet: '10.31.0.0/24' });
      const b = await ctl.createNetwork({ name: 'net-b' });
      expect(b.pools.v4!.subnet).toBe('172.17.0.0/16');
      const [a1, a2, b1, b2] = await Promise.all(['a1', 'a2', 'b1', 'b2'].map(sandbox));
      for (const [net, s] of [
        ['net-a', a1],
        ['net-a', a2],
        ['net-b', b1],
        ['net-b', b2],
      ] as const)
        await ctl.connect(net, s!.id);
      expect(addressOf(ctl, a1!.id, 'net-a')).toBe('10.31.0.2');
      expect(await l.pingResult(a1!.ns, addressOf(ctl, a2!.id, 'net-a'))).toBe('reached');
      expect(await l.pingResult(a1!.ns, a.pools.v4!.gateway!)).toBe('reached');
      expect(await l.pingResult(b2!.ns, addressOf(ctl, b1!.id, 'net-b'))).toBe('reached');
      // Across networks there is a route (through the host), and the isolation rules drop the packets.
      const dropsBefore = await l.firewallDrops();
      expect(await l.pingResult(a1!.ns, addressOf(ctl, b1!.id, 'net-b'))).toBe('no-reply');
      expect(await l.pingResult(b1!.ns, addressOf(ctl, a2!.id, 'net-a'))).toBe('no-reply');
      expect(await l.firewallDrops()).toBeGreaterThanOrEqual(dropsBefore + 2);

      // What the kernel has: the bridge tagged with the network id, the veth's peer inside the sandbox as eth0.
      const bridge = (await l.ip(l.host, '-d', 'link', 'show', bridgeName(a)))[0];
      expect(bridge).toMatchObject({ ifalias: `tsnet:network:${a.id}` });
      const inside = (await l.ip(a1!.ns, 'addr', 'show', 'eth0'))[0] as { address: string; addr_info: { local: string }[] };
      expect(inside.address).toBe('02:42:0a:1f:00:02');
      expect(inside.addr_info.map((x) => x.local)).toContain('10.31.0.2');
      expect(await l.ip(a1!.ns, 'route', 'show', 'default')).toEqual([expect.objectContaining({ gateway: '10.31.0.1', dev: 'eth0' })]);
    });

    it("keeps the gateway's MAC when the container with the lowest MAC leaves, so the others keep their gateway", async () => {
      const { ctl, lab: l, sandbox } = world();
      const a = await ctl.createNetwork({ name: 'net-a', subnet: '10.31.0.0/24' });
      const [first, second] = await Promise.all(['first', 'second'].map(sandbox));
      for (const s of [first!, second!]) await ctl.connect('net-a', s.id);
      const mac = async (): Promise<string> => String((await l.ip(l.host, 'link', 'show', bridgeName(a)))[0]!.address);
      const before = await mac();
      // Fixed at creation, not taken from a port (which would be whichever port has the lowest MAC now).
      expect(before).toBe(bridgeMac(a.id));
      expect(await l.pingResult(second!.ns, '10.31.0.1')).toBe('reached');
      await ctl.deleteSandbox(first!.id);
      expect(await mac()).toBe(before);
      // Its ARP entry for the gateway still holds: the next packet gets through at once.
      expect(await l.pingResult(second!.ns, '10.31.0.1')).toBe('reached');
    });

    it('reaches the upstream "internet" through NAT: the upstream sees the host address', async () => {
      const { ctl, lab: l, sandbox, world: w } = world();
      const a = await ctl.createNetwork({ name: 'net-a', subnet: '10.31.0.0/24' });
      const s = await sandbox('a1');
      await ctl.connect('net-a', s.id);
      expect(await l.pingResult(s.ns, UPSTREAM.server)).toBe('reached');
      expect(await tcpProbe(l, w.upstream, s.ns, UPSTREAM.server, 8080)).toBe(UPSTREAM.host);
      expect(await fw.rules(l)).toContain(fw.masquerade('10.31.0.0/24', bridgeName(a), a.id));
      expect(l.host.sysctlRead('net/ipv4/ip_forward')).toBe('1');
    });

    it('gives an internal network no way out, and with ICC off drops traffic between its containers', async () => {
      const { ctl, lab: l, sandbox } = world();
      await ctl.createNetwork({ name: 'net-internal', internal: true, subnet: '10.32.0.0/24' });
      await ctl.createNetwork({ name: 'net-noicc', subnet: '10.33.0.0/24', options: { 'com.docker.network.bridge.enable_icc': 'false' } });
      const [i1, i2, n1, n2] = await Promise.all(['i1', 'i2', 'n1', 'n2'].map(sandbox));
      await ctl.connect('net-internal', i1!.id);
      await ctl.connect('net-internal', i2!.id);
      await ctl.connect('net-noicc', n1!.id);
      await ctl.connect('net-noicc', n2!.id);
      expect(await l.pingResult(i1!.ns, addressOf(ctl, i2!.id, 'net-internal'))).toBe('reached');
      // Internal: no default route, so the kernel refuses to send at all.
      expect(await l.ip(i1!.ns, 'route', 'show', 'default')).toEqual([]);
      expect(await l.pingResult(i1!.ns, UPSTREAM.server)).toBe('no-route');
      // ICC off: the peer is on the same bridge, and the firewall drops what goes between them.
      const dropsBefore = await l.firewallDrops();
      expect(await l.pingResult(n1!.ns, addressOf(ctl, n2!.id, 'net-noicc'))).toBe('no-reply');
      expect(await l.firewallDrops()).toBeGreaterThan(dropsBefore);
      expect(await l.pingResult(n1!.ns, '10.33.0.1')).toBe('reached');
      expect(await l.pingResult(n1!.ns, UPSTREAM.server)).toBe('reached');
    });

    it('connects one sandbox to two networks; leaving the first moves the default route and keeps the second working', async () => {
      const { ctl, lab: l, sandbox } = world();
      await ctl.createNetwork({ name: 'net-a', subnet: '10.31.0.0/24' });
      await ctl.createNetwork({ name: 'net-b', subnet: '172.17.0.0/16' });
      const b1 = await sandbox('b1');
      await ctl.connect('net-b', b1.id);
      const s = await sandbox('multi');
      await ctl.connect('net-a', s.id);
      await ctl.connect('net-b', s.id, { ip: '172.17.0.200' });
      expect((await l.ip(s.ns, 'link')).map((x) => x.ifname)).toEqual(['lo', 'eth0', 'eth1']);
      expect(await l.ip(s.ns, 'route', 'show', 'default')).toEqual([expect.objectContaining({ gateway: '10.31.0.1', dev: 'eth0' })]);
      await ctl.disconnect('net-a', s.id);
      expect((await l.ip(s.ns, 'link')).map((x) => x.ifname)).toEqual(['lo', 'eth1']);
      expect(await l.ip(s.ns, 'route', 'show', 'default')).toEqual([expect.objectContaining({ gateway: '172.17.0.1', dev: 'eth1' })]);
      expect(await l.pingResult(s.ns, addressOf(ctl, b1.id, 'net-b'))).toBe('reached');
      expect(await l.pingResult(s.ns, UPSTREAM.server)).toBe('reached');
      // Joining again takes the free eth0.
      await ctl.connect('net-a', s.id);
      expect((await l.ip(s.ns, 'link')).map((x) => x.ifname).sort()).toEqual(['eth0', 'eth1', 'lo']);
      expect(await l.ip(s.ns, 'route', 'show', 'default')).toEqual([expect.objectContaining({ gateway: '172.17.0.1' })]);
    });

    it("on a disconnect, leaves alone a link that took the name of the endpoint's vanished host end", async () => {
      const { ctl, lab: l, sandbox } = world();
      await ctl.createNetwork({ name: 'net-a', subnet: '10.31.0.0/24' });
      const s = await sandbox('vanished');
      const hostEnd = (await ctl.connect('net-a', s.id)).hostIfname!;
      await l.exec(l.host, 'ip', ['link', 'del', hostEnd]);
      await l.exec(l.host, 'ip', ['link', 'add', hostEnd, 'type', 'veth', 'peer', 'name', 'foreign0']);
      await ctl.disconnect('net-a', s.id);
      expect(ctl.endpointsOf({ sandboxId: s.id })).toEqual([]);
      expect(await l.ip(l.host, 'link', 'show', hostEnd)).toEqual([expect.objectContaining({ ifname: hostEnd })]);
    });

    it("takes a removed sandbox's wires from the ends that outlive it before answering: a host bridge's port, a sandbox that stays", async () => {
      const { ctl, lab: l, sandbox } = world();
      const [gone, stays] = await Promise.all(['wgone', 'wstays'].map(sandbox));
      await ctl.ensureHostBridge('wbr0', 'test:w');
      await ctl.createWires([
        {
          owner: 'test:w',
          ends: [
            { sandboxId: gone!.id, ifname: 'eth1', addresses: [] },
            { ifname: 'wbr0p1', bridge: 'wbr0', addresses: [] },
          ],
        },
        {
          owner: 'test:w',
          ends: [
            { sandboxId: gone!.id, ifname: 'eth2', addresses: [] },
            { sandboxId: stays!.id, ifname: 'eth1', addresses: [] },
          ],
        },
      ]);
      expect((await l.ip(l.host, 'link', 'show', 'master', 'wbr0')).map((x) => x.ifname)).toEqual(['wbr0p1']);
      await ctl.deleteSandbox(gone!.id);
      // Right after the answer, not once the kernel has got round to the namespace that went.
      expect(await l.ip(l.host, 'link', 'show', 'master', 'wbr0')).toEqual([]);
      expect((await l.ip(stays!.ns, 'link')).map((x) => x.ifname)).toEqual(['lo']);
      expect(ctl.wires('test:w')).toEqual([]);
      await ctl.removeHostBridges('test:w');
    });

    it('runs a dual-stack network: IPv6 addresses and default route inside, IPv6 traffic between containers', async () => {
      const { ctl, lab: l, sandbox } = world();
      await ctl.createNetwork({ name: 'net-a', subnet: '10.31.0.0/24' });
      const net = await ctl.createNetwork({ name: 'net-v6', subnet: '10.35.0.0/24', ipv6: true, subnet6: 'fd00:35::/64' });
      expect(net.pools.v6).toMatchObject({ subnet: 'fd00:35::/64', gateway: 'fd00:35::1' });
      const [x, y] = await Promise.all(['v6x', 'v6y'].map(sandbox));
      const ex = await ctl.connect('net-v6', x!.id);
      const ey = await ctl.connect('net-v6', y!.id, { ip6: 'fd00:35::99' });
      expect(ex.ipv6).toBe('fd00:35::2/64');
      expect(ey.ipv6).toBe('fd00:35::99/64');
      expect(await l.ip(x!.ns, '-6', 'route', 'show', 'default')).toEqual([expect.objectContaining({ gateway: 'fd00:35::1', dev: 'eth0' })]);
      expect(await l.pingResult(x!.ns, 'fd00:35::99', { ipv6: true })).toBe('reached');
      expect(await l.pingResult(x!.ns, 'fd00:35::1', { ipv6: true })).toBe('reached');
      await expect(ctl.connect('net-a', x!.id, { ip6: 'fd00:1::5' })).rejects.toThrow(/network "net-a" has no IPv6 subnet/);
    });

    it('drops IPv6 between containers of an ICC-off network too (through bridge netfilter)', async () => {
      const { ctl, lab: l, sandbox } = world();
      await ctl.createNetwork({
        name: 'v6-noicc',
        subnet: '10.37.0.0/24',
        ipv6: true,
        subnet6: 'fd00:37::/64',
        options: { 'com.docker.network.bridge.enable_icc': 'false' },
      });
      const [p, q] = await Promise.all(['v6p', 'v6q'].map(sandbox));
      await ctl.connect('v6-noicc', p!.id);
      await ctl.connect('v6-noicc', q!.id, { ip6: 'fd00:37::9' });
      const dropsBefore = await l.firewallDrops(l.host, 6);
      expect(await l.pingResult(p!.ns, 'fd00:37::9', { ipv6: true })).toBe('no-reply');
      expect(await l.firewallDrops(l.host, 6)).toBeGreaterThan(dropsBefore);
      expect(await l.pingResult(p!.ns, 'fd00:37::1', { ipv6: true })).toBe('reached');
      expect(await fw.rules(l)).toMatch(fw.iccDrop);
      await ctl.deleteSandboxes([p!.id, q!.id]);
      await ctl.deleteNetwork('v6-noicc');
      expect(await fw.rules(l)).not.toMatch(/tsnet:[0-9a-f]{64}/u);
    });

    it('serves the host and null drivers: the host namespace as it is, and loopback only', async () => {
      const { ctl, lab: l } = world();
      await ctl.createNetwork({ name: 'net-a', subnet: '10.31.0.0/24' });
      await expect(ctl.createNetwork({ name: 'none', driver: 'null', options: { x: 'y' } })).rejects.toThrow(
        /unknown option "x" for the null driver \(it takes none\)/,
      );
      await ctl.createNetwork({ name: 'host', driver: 'host' });
      await ctl.createNetwork({ name: 'none', driver: 'null' });
      await expect(ctl.createNetwork({ name: 'host2', driver: 'host' })).rejects.toThrow(/only one network of the host driver/);
      const hostLinksBefore = (await l.ip(l.host, 'link')).map((x) => x.ifname);
      const h = await ctl.createSandbox({ containerId: 'hostnet', hostNamespace: true });
      expect(h.netnsPath).toBe(l.host.path);
      await ctl.connect('host', h.id);
      await expect(ctl.connect('net-a', h.id)).rejects.toThrow(/a sandbox in the host's namespace cannot join network "net-a"/);
      const n = await ctl.createSandbox({ containerId: 'nonet' });
      await ctl.connect('none', n.id);
      await expect(ctl.connect('host', n.id)).rejects.toThrow(/needs a sandbox in the host's namespace/);
      expect((await l.ip(ctl.sandbox(n.id).ns, 'link')).map((x) => [x.ifname, x.operstate])).toEqual([['lo', 'UNKNOWN']]);
      expect((await l.ip(l.host, 'link')).map((x) => x.ifname)).toEqual(hostLinksBefore);
      await ctl.deleteSandboxes([h.id, n.id]);
      expect((await l.ip(l.host, 'link')).map((x) => x.ifname)).toEqual(hostLinksBefore);
      expect(existsSync(l.host.path!)).toBe(true);
    });

    it("honours Docker's container_iface_prefix and inhibit_ipv4 options", async () => {
      const { ctl, lab: l, sandbox } = world();
      await ctl.createNetwork({ name: 'lan', subnet: '10.38.0.0/24', options: { 'com.docker.network.container_iface_prefix': 'lan' } });
      const quiet = await ctl.createNetwork({ name: 'quiet', subnet: '10.39.0.0/24', options: { 'com.docker.network.bridge.inhibit_ipv4': 'true' } });
      const s = await sandbox('p1');
      await ctl.connect('lan', s.id);
      await ctl.connect('quiet', s.id);
      expect((await l.ip(s.ns, 'link')).map((x) => x.ifname)).toEqual(['lo', 'lan0', 'eth0']);
      expect(await l.ip(l.host, '-4', 'addr', 'show', bridgeName(quiet))).toEqual([]);
      expect(((await l.ip(s.ns, '-4', 'addr', 'show', 'eth0'))[0] as { addr_info: { local: string }[] }).addr_info[0]!.local).toBe('10.39.0.2');
      await expect(ctl.createNetwork({ name: 'bad', options: { 'com.docker.network.container_iface_prefix': 'Eth-' } })).rejects.toThrow(
        /must be 1 to 11 lower-case/u,
      );
    });

    it('honours the MTU option on the bridge and on both ends of the veth', async () => {
      const { ctl, lab: l, sandbox } = world();
      const net = await ctl.createNetwork({ name: 'net-mtu', subnet: '10.36.0.0/24', options: { 'com.docker.network.driver.mtu': '1400' } });
      const s = await sandbox('mtu');
      const e = await ctl.connect('net-mtu', s.id);
      expect((await l.ip(l.host, 'link', 'show', bridgeName(net)))[0]).toMatchObject({ mtu: 1400 });
      expect((await l.ip(l.host, 'link', 'show', e.hostIfname!))[0]).toMatchObject({ mtu: 1400 });
      expect((await l.ip(s.ns, 'link', 'show', 'eth0'))[0]).toMatchObject({ mtu: 1400 });
    });

    it('gives 50 endpoints connected at once 50 distinct addresses, their host ends in one send, and takes them all back', async () => {
      const { ctl, lab: l, sandbox, deps } = world();
      const net = await ctl.createNetwork({ name: 'net-many', subnet: '10.34.0.0/24' });
      const boxes = await Promise.all(Array.from({ length: 50 }, (_, i) => sandbox(`m${i}`)));
      const sendsBefore = ctl.hostNetlinkStats().sends;
      const eps = await Promise.all(boxes.map((b) => ctl.connect('net-many', b.id)));
      expect(ctl.hostNetlinkStats().sends - sendsBefore).toBe(1);
      expect(new Set(eps.map((e) => e.ipv4)).size).toBe(50);
      expect((await l.ip(l.host, 'link')).filter((x) => x.master === bridgeName(net))).toHaveLength(50);
      for (const i of [0, 49]) {
        expect((await l.ip(boxes[i]!.ns, 'route', 'show', 'default'))[0]).toMatchObject({ gateway: '10.34.0.1', dev: 'eth0' });
        const inside = (await l.ip(boxes[i]!.ns, 'addr', 'show', 'eth0'))[0]?.addr_info as { local: string; prefixlen: number }[];
        expect(inside.map((a) => `${a.local}/${a.prefixlen}`)).toContain(eps[i]!.ipv4);
      }
      expect(await l.pingResult(boxes[0]!.ns, eps[49]!.ipv4!.split('/')[0]!)).toBe('reached');
      await ctl.deleteSandboxes(boxes.map((b) => b.id));
      expect((await l.ip(l.host, 'link')).filter((x) => x.master === bridgeName(net))).toEqual([]);
      expect(deps.ipam.pool(net.pools.v4!.id).addresses).toEqual([]);
    });

    it('makes 300 sandboxes asked for at once (more calls than the native layer queues on its threads) and removes them', async () => {
      const { ctl } = world();
      const boxes = await Promise.all(Array.from({ length: 300 }, (_, i) => ctl.createSandbox({ containerId: `crowd${i}` })));
      expect(new Set(boxes.map((b) => b.id)).size).toBe(300);
      await ctl.deleteSandboxes(boxes.map((b) => b.id));
      expect(ctl.sandboxes().filter((s) => s.record.containerId.startsWith('crowd'))).toEqual([]);
    });

    it('deletes sandboxes asked for one by one at the same time together: few sends, each caller its own outcome', async () => {
      const { ctl, lab: l, sandbox, deps } = world();
      const net = await ctl.createNetwork({ name: 'net-batch', subnet: '10.35.0.0/24' });
      const boxes = await Promise.all(Array.from({ length: 30 }, (_, i) => sandbox(`b${i}`)));
      for (const b of boxes) await ctl.connect('net-batch', b.id);
      const sendsBefore = ctl.hostNetlinkStats().sends;
      const outcomes = await Promise.allSettled([...boxes.map((b) => ctl.deleteSandbox(b.id)), ctl.deleteSandbox('no-such-sandbox')]);
      // One request would remove each veth alone; together, the first alone and the rest in one go.
      expect(ctl.hostNetlinkStats().sends - sendsBefore).toBeLessThanOrEqual(6);
      expect(outcomes.slice(0, 30).every((o) => o.status === 'fulfilled')).toBe(true);
      expect(outcomes[30]).toMatchObject({ status: 'rejected', reason: { code: 'TSNET_ERR_SANDBOX_NOT_FOUND' } });
      expect(ctl.sandboxes().filter((s) => boxes.some((b) => b.id === s.record.id))).toEqual([]);
      expect((await l.ip(l.host, 'link')).filter((x) => x.master === bridgeName(net))).toEqual([]);
      expect(deps.ipam.pool(net.pools.v4!.id).addresses).toEqual([]);
    });

    it('attaches to a bridge made again behind its back (the index it knew is stale), and says so clearly when it is gone', async () => {
      const { ctl, lab: l, sandbox } = world();
      const net = await ctl.createNetwork({ name: 'net-remade', subnet: '10.36.0.0/24' });
      const name = bridgeName(net);
      const a = await sandbox('ra');
      await ctl.connect('net-remade', a.id);
      await ctl.deleteSandboxes([a.id]);
      const host = l.handle();
      const old = await host.linkGet(name);
      await host.linkDelete(old.index);
      const remade = await host.linkAdd({ kind: 'bridge', name, up: true });
      expect(remade.index).not.toBe(old.index);
      // Two at once: the endpoints joined together find the bridge's new index just the same.
      const [b, b2] = await Promise.all([sandbox('rb'), sandbox('rb2')]);
      const [ep, ep2] = await Promise.all([ctl.connect('net-remade', b.id), ctl.connect('net-remade', b2.id)]);
      for (const e of [ep, ep2]) expect((await l.ip(l.host, 'link', 'show', e.hostIfname!))[0]).toMatchObject({ master: name });
      await ctl.deleteSandboxes([b.id, b2.id]);
      await host.linkDelete(remade.index);
      const c = await sandbox('rc');
      await expect(ctl.connect('net-remade', c.id)).rejects.toThrow(new RegExp(`${name}.*(ENODEV|No such device)`, 'u'));
      expect((await l.ip(l.host, 'link')).filter((x) => x.link_type === 'ether' && String(x.ifname).startsWith('veth'))).toEqual([]);
    });

    it('refuses to delete a network with endpoints, naming them; deleting it removes exactly its rules', async () => {
      const { ctl, lab: l, sandbox } = world();
      await ctl.createNetwork({ name: 'net-a', subnet: '10.31.0.0/24' });
      const noicc = await ctl.createNetwork({ name: 'net-noicc', subnet: '10.33.0.0/24', options: { 'com.docker.network.bridge.enable_icc': 'false' } });
      const [n1, n2] = await Promise.all(['n1', 'n2'].map(sandbox));
      await ctl.connect('net-noicc', n1!.id);
      await ctl.connect('net-noicc', n2!.id);
      await expect(ctl.deleteNetwork('net-noicc')).rejects.toThrow(/network "net-noicc" has active endpoints: n1-container-net-noicc, n2-container-net-noicc/);
      const ours = (line: string): boolean => line.includes(noicc.id) || line.includes(bridgeName(noicc));
      const others = (await fw.rules(l)).split('\n').filter((x) => x.includes('tsnet:') && !ours(x));
      expect(others.length).toBeGreaterThan(0);
      await ctl.deleteSandboxes([n1!.id, n2!.id]);
      await ctl.deleteNetwork('net-noicc');
      const after = (await fw.rules(l)).split('\n');
      expect(after.filter(ours)).toEqual([]);
      expect(after.filter((x) => x.includes('tsnet:') && !ours(x))).toEqual(others);
      expect(await l.ip(l.host, 'link', 'show')).not.toContainEqual(expect.objectContaining({ ifname: bridgeName(noicc) }));
    });

    it('refuses bad input with a clear error and changes nothing in the kernel or the store', async () => {
      const { ctl, lab: l, deps } = world();
      await ctl.createNetwork({ name: 'net-a', subnet: '10.31.0.0/24' });
      const snapshot = async () => ({
        links: (await l.ip(l.host, 'link')).map((x) => x.ifname),
        rules: await fw.rules(l),
        networks: deps.store.networks().map((n) => n.name),
        pools: deps.ipam.poolList.length,
      });
      const before = await snapshot();
      const cases: [Parameters<Controller['createNetwork']>[0], RegExp][] = [
        [{ name: 'bad1', subnet: '10.40.0.0/33' }, /invalid subnet "10.40.0.0\/33": prefix length must be from 0 to 32/],
        [{ name: 'bad2', subnet: '10.40.0.0/24', gateway: '10.41.0.1' }, /gateway 10.41.0.1 is not in the subnet 10.40.0.0\/24/],
        [{ name: 'net-a' }, /network with name "net-a" already exists/],
        [{ name: 'bad3', driver: 'macvlan2' }, /unknown network driver "macvlan2"/],
        [
          { name: 'bad4', options: { 'com.docker.network.bridge.enable_iccc': 'true' } },
          /unknown option "com.docker.network.bridge.enable_iccc" for the bridge driver/,
        ],
        [
          { name: 'bad5', options: { 'com.docker.network.bridge.name': 'a-very-long-bridge' } },
          /bridge name \(option com.docker.network.bridge.name\) "a-very-long-bridge" is 18 bytes long/,
        ],
        [{ name: 'bad6', subnet: '10.31.0.0/16' }, /subnet 10.31.0.0\/16 overlaps pool 10.31.0.0\/24/],
        [{ name: 'bad/7' }, /invalid network name "bad\/7"/],
        [{ name: 'bad8', options: { 'com.docker.network.driver.mtu': 'big' } }, /is not a number/],
        [{ name: 'bad9', subnet: '198.51.100.0/25' }, /subnet 198.51.100.0\/25 overlaps the host's route to 198.51.100.0\/24/],
        [
          { name: 'bad11', options: { 'com.docker.network.bridge.name': 'br\u0000x' } },
          /bridge name \(option com.docker.network.bridge.name\) "br\\u0000x" contains a control character/,
        ],
        [
          { name: 'bad10', options: { 'com.docker.network.bridge.name': bridgeName(ctl.network('net-a')) } },
          /bridge name "br-[0-9a-f]{12}" is already used by network "net-a"/,
        ],
      ];
      for (const [req, message] of cases) await expect(ctl.createNetwork(req)).rejects.toThrow(message);
      expect(await snapshot()).toEqual(before);
    });

    it('restores its state after a restart and reconciles the kernel with it', async () => {
      const { ctl: first, lab: l, sandbox } = world();
      const a = await first.createNetwork({ name: 'net-a', subnet: '10.31.0.0/24' });
      const [a1, a2, a3] = await Promise.all(['a1', 'a2', 'a3'].map(sandbox));
      for (const s of [a1, a2, a3]) await first.connect('net-a', s!.id);
      const address = addressOf(first, a1!.id, 'net-a');
      // While tsnet is down: its bridge vanishes, an orphan tagged link appears, its forward rules are flushed.
      await first.close();
      await l.exec(l.host, 'ip', ['link', 'del', bridgeName(a)]);
      await l.exec(l.host, 'ip', ['link', 'add', 'orphan0', 'type', 'bridge']);
      await l.exec(l.host, 'ip', ['link', 'set', 'orphan0', 'alias', 'tsnet:network:0123456789abcdef']);
      await l.exec(l.host, 'ip', ['link', 'add', 'theirs0', 'type', 'bridge']);
      await fw.flushForward(l);
      const report = await world().reopen();
      const { ctl, deps } = world();
      expect(report.removed).toEqual(['network interface orphan0: no network records it']);
      expect(report.recreated).toContainEqual(expect.stringMatching(/^network net-a: its .* was missing/));
      // The veths that the bridge's removal detached are joined again.
      expect(report.recreated.filter((r) => r.startsWith('endpoint ') && r.includes('net-a'))).toHaveLength(3);
      expect(report.broken).toEqual([]);
      expect(ctl.network('net-a').id).toBe(a.id);
      const links = (await l.ip(l.host, 'link')).map((x) => x.ifname);
      expect(links).not.toContain('orphan0');
      expect(links).toContain('theirs0'); // not tsnet's: left alone
      expect(await fw.rules(l)).toContain(`tsnet:${a.id}`);
      expect(await fw.rules(l)).toContain(fw.masquerade('10.31.0.0/24', bridgeName(a), a.id));
      expect(await l.pingResult(a1!.ns, a.pools.v4!.gateway!)).toBe('reached');
      expect(await l.pingResult(a2!.ns, addressOf(ctl, a3!.id, 'net-a'))).toBe('reached');
      // IPAM came back with the addresses in use.
      expect(deps.ipam.pool(a.pools.v4!.id).isAllocated(address)).toBe(true);
    });
  });
