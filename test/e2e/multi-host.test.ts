/**
 * Multi-host overlay networks end to end: three "hosts" (namespaces, each with its own daemon and root) on an
 * underlay bridge, an etcd server on the underlay started by the test, real containers pinging and resolving each
 * other across hosts through VXLAN tunnels.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { NetNs } from '../../src/netns/netns.js';
import {
  UNDERLAY_GATEWAY,
  etcdKeys,
  etcdValues,
  hostAddress,
  importBusybox,
  makeUnderlay,
  startEtcd,
  startHostDaemon,
  type EtcdHandle,
} from '../helpers/cluster.js';
import { tsnet, useBusyboxTarball, type DaemonHandle } from '../helpers/daemon.js';
import { Lab, describeKernel } from '../helpers/lab.js';

const HOSTS = 3;
const TTL = 4;

interface Cluster {
  lab: Lab;
  underlay: NetNs;
  hosts: NetNs[];
  etcd: EtcdHandle;
  daemons: DaemonHandle[];
}

describeKernel('multi-host overlay networks', () => {
  const rootfs = useBusyboxTarball();
  const c = {} as Cluster;

  beforeAll(async () => {
    c.lab = Lab.create();
    c.daemons = [];
    try {
      const { underlay, hosts } = await makeUnderlay(c.lab, HOSTS);
      Object.assign(c, { underlay, hosts });
      c.etcd = await startEtcd(c.lab, underlay);
      for (let i = 0; i < HOSTS; i++) c.daemons.push(await startHostDaemon(c.lab, hosts[i]!, i, ['--cluster-lease-ttl', String(TTL)]));
      await Promise.all(c.daemons.map((d) => importBusybox(d, rootfs())));
    } catch (err) {
      await tearDownCluster(c);
      throw err;
    }
  });
  afterAll(() => tearDownCluster(c));

  const on = (i: number, ...args: string[]) => tsnet(c.daemons[i]!, ...args);
  const ok = async (i: number, ...args: string[]): Promise<string> => {
    const r = await on(i, ...args);
    expect(r, `host ${i + 1}: tsnet ${args.join(' ')}: ${r.stderr}`).toMatchObject({ code: 0 });
    return r.stdout.trim();
  };
  const ipOf = async (i: number, container: string, network: string): Promise<string> =>
    ok(i, 'inspect', '-f', `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`, container);
  /** Pings from a container until one reply or the deadline (a new remote endpoint takes a moment to be programmed). */
  const pings = async (i: number, container: string, address: string, tries = 10): Promise<boolean> => {
    for (let t = 0; t < tries; t++) {
      if ((await on(i, 'exec', container, 'ping', '-c', '1', '-W', '1', address)).code === 0) return true;
    }
    return false;
  };

  it('makes one network on every host; containers on three hosts ping each other and resolve each other by name', async () => {
    await ok(0, 'network', 'create', '-d', 'overlay', '--subnet', '10.210.0.0/24', 'ov1');
    // The others see it appear (a watch): made on their hosts too.
    for (let i = 1; i < HOSTS; i++) {
      await expect
        .poll(async () => (await on(i, 'network', 'inspect', '-f', '{{.Scope}} {{.Driver}}', 'ov1')).stdout.trim(), { timeout: 5000 })
        .toBe('global overlay');
    }
    expect(await ok(2, 'network', 'ls', '--filter', 'scope=global')).toMatch(/ov1\s+overlay\s+global\s+10\.210\.0\.0\/24/u);
    for (let i = 0; i < HOSTS; i++) await ok(i, 'run', '-d', '--name', `c${i + 1}`, '--network', 'ov1', 'busybox', 'sleep', '600');
    const ips = await Promise.all([0, 1, 2].map((i) => ipOf(i, `c${i + 1}`, 'ov1')));
    expect(new Set(ips).size).toBe(3);
    for (let i = 0; i < HOSTS; i++) {
      for (let j = 0; j < HOSTS; j++) if (i !== j) expect(await pings(i, `c${i + 1}`, ips[j]!), `c${i + 1} -> c${j + 1}`).toBe(true);
    }
    // Names across hosts, from the embedded resolver of each host.
    const lookup = await on(0, 'exec', 'c1', 'nslookup', '-type=a', 'c3.');
    expect(lookup.stdout).toContain(`Address: ${ips[2]}`);
    // The outside (the underlay's gateway plays it) through the container's own host's NAT.
    expect(await pings(1, 'c2', UNDERLAY_GATEWAY)).toBe(true);
    // MTU reduced by VXLAN's overhead.
    expect(await ok(2, 'exec', 'c3', 'cat', '/sys/class/net/eth0/mtu')).toBe('1450');
    // In the kernel: host 1's VXLAN device forwards c2's and c3's MACs to their hosts, and learns nothing.
    const vx = `vx-${(await ok(0, 'network', 'inspect', '-f', '{{.Id}}', 'ov1')).slice(0, 12)}`;
    const macs = await Promise.all([1, 2].map((i) => macOf(i, `c${i + 1}`, 'ov1')));
    expect(await fdb(c.lab, c.hosts[0]!, vx)).toEqual(
      expect.arrayContaining([
        { mac: macs[0], dst: hostAddress(1) },
        { mac: macs[1], dst: hostAddress(2) },
      ]),
    );
    const [details] = await c.lab.ip<{ linkinfo: { info_data: object; info_slave_data: object } }[]>(c.hosts[0]!, '-d', 'link', 'show', vx);
    expect(details!.linkinfo.info_data).toMatchObject({ learning: false, proxy: true, port: 4789 });
    // Nor does its bridge learn behind it.
    expect(details!.linkinfo.info_slave_data).toMatchObject({ learning: false });
  });

  it("makes a host's share of the network again when its VXLAN device is deleted by hand (doctor --fix)", async () => {
    const vx = `vx-${(await ok(0, 'network', 'inspect', '-f', '{{.Id}}', 'ov1')).slice(0, 12)}`;
    await c.lab.exec(c.hosts[0]!, 'ip', ['link', 'del', vx]);
    expect(await pings(0, 'c1', await ipOf(1, 'c2', 'ov1'), 1)).toBe(false);
    // doctor says what differs (and exits 1 for it); --fix repairs it.
    expect((await on(0, 'doctor')).stdout).toContain('network ov1');
    await ok(0, 'doctor', '--fix');
    // The device is back, and its remote containers with it (programmed again within seconds).
    expect(await pings(0, 'c1', await ipOf(1, 'c2', 'ov1'))).toBe(true);
    expect((await fdb(c.lab, c.hosts[0]!, vx)).length).toBe(2);
  });

  it('keeps a second overlay network apart from the first', async () => {
    await ok(1, 'network', 'create', '-d', 'overlay', 'ov2');
    await expect.poll(async () => (await on(0, 'network', 'inspect', '-f', '{{.Name}}', 'ov2')).stdout.trim(), { timeout: 5000 }).toBe('ov2');
    await ok(0, 'run', '-d', '--name', 'd1', '--network', 'ov2', 'busybox', 'sleep', '600');
    await ok(2, 'run', '-d', '--name', 'd3', '--network', 'ov2', 'busybox', 'sleep', '600');
    const d3 = await ipOf(2, 'd3', 'ov2');
    expect(await pings(0, 'd1', d3)).toBe(true);
    // From ov2 to ov1's containers on this host and on others: nothing arrives.
    expect(await pings(0, 'd1', await ipOf(0, 'c1', 'ov1'), 2)).toBe(false);
    expect(await pings(0, 'd1', await ipOf(1, 'c2', 'ov1'), 2)).toBe(false);
    expect(await pings(2, 'c3', await ipOf(0, 'd1', 'ov2'), 2)).toBe(false);
  });

  it('gives networks made at once on three hosts distinct subnets and VXLAN ids, and one name to one of them', async () => {
    const made = await Promise.all([0, 1, 2].map((i) => on(i, 'network', 'create', '-d', 'overlay', `p${i}`)));
    for (const r of made) expect(r, r.stderr).toMatchObject({ code: 0 });
    const shapes = await Promise.all(
      [0, 1, 2].map(async (i) =>
        ok(0, 'network', 'inspect', '-f', '{{(index .IPAM.Config 0).Subnet}} {{index .Options "com.docker.network.driver.overlay.vxlanid_list"}}', `p${i}`),
      ),
    );
    expect(new Set(shapes.map((x) => x.split(' ')[0])).size).toBe(3);
    expect(new Set(shapes.map((x) => x.split(' ')[1])).size).toBe(3);
    const same = await Promise.all([0, 1, 2].map((i) => on(i, 'network', 'create', '-d', 'overlay', 'same')));
    expect(same.filter((r) => r.code === 0)).toHaveLength(1);
    for (const r of same.filter((x) => x.code !== 0)) expect(r.stderr).toMatch(/"same" already exists.*TSNET_ERR_NETWORK_EXISTS/u);
    for (const name of ['p0', 'p1', 'p2', 'same']) await ok(0, 'network', 'rm', name);
  });

  it('gives 30 containers started at once on three hosts 30 different addresses', async () => {
    const names = Array.from({ length: 30 }, (_, k) => ({ host: k % HOSTS, name: `m${k}` }));
    const runs = await Promise.all(names.map(({ host, name }) => on(host, 'run', '-d', '--name', name, '--network', 'ov1', 'busybox', 'sleep', '600')));
    for (const r of runs) expect(r, r.stderr).toMatchObject({ code: 0 });
    const ips = await Promise.all(names.map(({ host, name }) => ipOf(host, name, 'ov1')));
    expect(new Set(ips).size).toBe(30);
    const held = (await etcdKeys(c.lab, c.underlay)).filter((k) => k.startsWith('/tsnet/addresses/'));
    expect(held.length).toBe(30 + 3 + 2);
    await Promise.all(names.map(({ host, name }) => ok(host, 'rm', '-f', name)));
    // A removal answers once its addresses are given back to the cluster: no wait.
    expect((await etcdKeys(c.lab, c.underlay)).filter((k) => k.startsWith('/tsnet/addresses/')).length).toBe(3 + 2);
    // Their entries go from the others' tables: the VXLAN device's, its bridge's (static) and the neighbours.
    const vx = `vx-${(await ok(0, 'network', 'inspect', '-f', '{{.Id}}', 'ov1')).slice(0, 12)}`;
    const remote = await Promise.all([1, 2].map((i) => macOf(i, `c${i + 1}`, 'ov1')));
    await expect.poll(async () => (await fdb(c.lab, c.hosts[0]!, vx)).map((e) => e.mac).sort(), { timeout: 5000 }).toEqual([...remote].sort());
    expect((await bridgeStatic(c.lab, c.hosts[0]!, vx)).sort()).toEqual([...remote].sort());
    expect((await c.lab.ip(c.hosts[0]!, 'neigh', 'show', 'dev', vx)).length).toBe(2);
  });

  it("removes a dead host's endpoints from the others within the lease time", { timeout: 180_000 }, async () => {
    const mac3 = await macOf(2, 'c3', 'ov1');
    const vx = `vx-${(await ok(0, 'network', 'inspect', '-f', '{{.Id}}', 'ov1')).slice(0, 12)}`;
    const on3 = (await ok(2, 'ps', '-q')).split('\n').filter(Boolean);
    const pids = await Promise.all(on3.map(async (n) => Number(await ok(2, 'inspect', '-f', '{{.State.Pid}}', n))));
    expect((await fdb(c.lab, c.hosts[1]!, vx)).map((e) => e.mac)).toContain(mac3);
    // Host 3 dies: its daemon and its containers, at once.
    const killed = Date.now();
    c.daemons[2]!.process.kill('SIGKILL');
    for (const pid of pids) process.kill(pid, 'SIGKILL');
    for (const i of [0, 1]) {
      await expect.poll(async () => (await fdb(c.lab, c.hosts[i]!, vx)).map((e) => e.mac), { timeout: (TTL + 5) * 1000, interval: 100 }).not.toContain(mac3);
    }
    // The lease's time, plus etcd's expiry check (every 500 ms) and the watch's delivery.
    expect(Date.now() - killed).toBeLessThan((TTL + 2) * 1000);
    const announced = await etcdValues(c.lab, c.underlay, '/tsnet/endpoints/');
    expect(announced.length).toBeGreaterThan(0);
    expect(announced.filter((a) => a.vtep === hostAddress(2))).toEqual([]);
    await c.daemons[2]!.stop();
    c.daemons[2] = await startHostDaemon(c.lab, c.hosts[2]!, 2, ['--cluster-lease-ttl', String(TTL)]);
    await ok(2, 'rm', '-f', ...on3);
  });

  it('without etcd, local networks work and global operations fail clearly; with it back, the cluster converges', { timeout: 120_000 }, async () => {
    const t0 = Date.now();
    const c2 = await ipOf(1, 'c2', 'ov1');
    await c.etcd.stop();
    await ok(0, 'network', 'create', '--subnet', '10.230.0.0/24', 'local1');
    await ok(0, 'run', '-d', '--name', 'l1', '--network', 'local1', 'busybox', 'sleep', '600');
    // What the kernel has keeps working.
    expect(await pings(0, 'c1', c2)).toBe(true);
    const create = await on(0, 'network', 'create', '-d', 'overlay', 'ov3');
    expect(create.code).toBe(1);
    expect(create.stderr).toMatch(/cluster store etcd:\/\/10\.99\.0\.254:2379 did not answer.*\(TSNET_ERR_CLUSTER_UNAVAILABLE\)/u);
    const run = await on(1, 'run', '-d', '--name', 'late', '--network', 'ov1', 'busybox', 'sleep', '600');
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/TSNET_ERR_CLUSTER_UNAVAILABLE/u);
    await on(1, 'rm', '-f', 'late');
    // Long enough for every host to give its lease up (the client does after twice its TTL without an answer).
    await new Promise((r) => setTimeout(r, (2 * TTL + 1) * 1000 - (Date.now() - t0)));
    c.etcd = await startEtcd(c.lab, c.underlay);
    // Converged: a new container on host 2 is reached from host 1, and host 1 resolves it.
    await expect
      .poll(async () => (await on(1, 'run', '-d', '--name', 'late', '--network', 'ov1', 'busybox', 'sleep', '600')).code, { timeout: 20_000, interval: 500 })
      .toBe(0);
    expect(await pings(0, 'c1', await ipOf(1, 'late', 'ov1'))).toBe(true);
    await ok(0, 'rm', '-f', 'l1');
    await ok(0, 'network', 'rm', 'local1');
  });

  it('leaves nothing in the kernel or in etcd once everything is removed', async () => {
    const removeAll = async (i: number): Promise<void> => {
      const ps = (await ok(i, 'ps', '-aq')).split('\n').filter(Boolean);
      if (ps.length) await ok(i, 'rm', '-f', ...ps);
    };
    await removeAll(0);
    // A network with endpoints on another host is refused, and stays.
    const refused = await on(0, 'network', 'rm', 'ov1');
    expect(refused.stderr, JSON.stringify(refused)).toMatch(/has \d+ endpoint\(s\) in the cluster.*TSNET_ERR_NETWORK_IN_USE/u);
    expect((await on(0, 'network', 'inspect', 'ov1')).code).toBe(0);
    await removeAll(1);
    await removeAll(2);
    await ok(0, 'network', 'rm', 'ov1');
    await ok(2, 'network', 'rm', 'ov2');
    for (let i = 0; i < HOSTS; i++) {
      await expect.poll(async () => (await on(i, 'network', 'ls', '--filter', 'driver=overlay', '-q')).stdout.trim(), { timeout: 5000 }).toBe('');
      const links = (await c.lab.ip(c.hosts[i]!, 'link', 'show')).map((l) => String(l.ifname));
      expect(
        links.filter((n) => /^(vx|ov|veth)/u.test(n)),
        `host ${i + 1}`,
      ).toEqual([]);
    }
    await expect.poll(() => etcdKeys(c.lab, c.underlay), { timeout: 5000 }).toEqual(c.daemons.map(() => expect.stringMatching(/^\/tsnet\/hosts\//u)));
    // The daemons stop; their memberships end with their leases.
    for (const d of c.daemons) await d.stop();
    c.daemons = [];
    await expect.poll(() => etcdKeys(c.lab, c.underlay), { timeout: (TTL + 5) * 1000, interval: 250 }).toEqual([]);
  });

  const macOf = (i: number, container: string, network: string): Promise<string> =>
    ok(i, 'inspect', '-f', `{{(index .NetworkSettings.Networks "${network}").MacAddress}}`, container);
});

/** The static entries of a bridge's table behind its VXLAN port (remote containers' MACs). */
async function bridgeStatic(lab: Lab, ns: NetNs, dev: string): Promise<string[]> {
  const { stdout } = await lab.exec(ns, 'bridge', ['-j', 'fdb', 'show', 'dev', dev]);
  return (JSON.parse(stdout || '[]') as { mac: string; state?: string; flags?: string[] }[])
    .filter((e) => e.state === 'static' && !(e.flags ?? []).includes('self'))
    .map((e) => e.mac);
}

/** The forwarding entries of a VXLAN device that point at a remote host, read with `bridge -j fdb`. */
async function fdb(lab: Lab, ns: NetNs, dev: string): Promise<{ mac: string; dst: string }[]> {
  const { stdout } = await lab.exec(ns, 'bridge', ['-j', 'fdb', 'show', 'dev', dev]);
  return (JSON.parse(stdout || '[]') as { mac: string; dst?: string }[]).flatMap((e) => (e.dst ? [{ mac: e.mac, dst: e.dst }] : []));
}

async function tearDownCluster(c: Partial<Cluster>): Promise<void> {
  try {
    for (const d of c.daemons ?? []) {
      const ps = await tsnet(d, 'ps', '-aq');
      for (const id of ps.stdout.split('\n').filter(Boolean)) await tsnet(d, 'rm', '-f', id);
      await d.stop();
    }
  } finally {
    await c.etcd?.stop();
    c.lab?.destroy();
  }
}
