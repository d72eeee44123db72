/**
 * Multi-host overlay networks end to end: three "hosts" (namespaces, each with its own daemon and root) on an
 * underlay bridge, an etcd server on the underlay started by the test, real containers pinging and resolving each
 * other across hosts through VXLAN tunnels.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NetNs } from '../../src/netns/netns.js';
import {
  ETCD_URL,
  UNDERLAY_GATEWAY,
  etcdKeys,
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
  });
});

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
void ETCD_URL;
void hostAddress;
void etcdKeys;
void describe;
