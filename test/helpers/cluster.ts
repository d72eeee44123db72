/**
 * A cluster of tsnet hosts inside one lab: an underlay namespace with a bridge (the hosts' shared network, which also
 * plays the internet), a namespace per host with its own daemon and root, and an etcd server started on the
 * underlay, with its data in the lab's folder. Everything is removed with the lab, also when a test fails.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { NetNs } from '../../src/netns/netns.js';
import { startDaemon, tsnet, type DaemonHandle } from './daemon.js';
import type { Lab } from './lab.js';

export const UNDERLAY_GATEWAY = '10.99.0.254';
export const ETCD_URL = `${UNDERLAY_GATEWAY}:2379`;
export const hostAddress = (i: number): string => `10.99.0.${i + 1}`;

export interface ClusterHost {
  readonly ns: NetNs;
  readonly address: string;
  daemon: DaemonHandle;
}

/** Runs `ip ARGS` in ns. */
const ip = (lab: Lab, ns: NetNs, ...args: string[]) => lab.exec(ns, 'ip', args);

/** The underlay: a bridge in its own namespace, and per host a veth with an address and a default route through it. */
export async function makeUnderlay(lab: Lab, count: number): Promise<{ underlay: NetNs; hosts: NetNs[] }> {
  const underlay = lab.ns('underlay');
  await ip(lab, underlay, 'link', 'set', 'lo', 'up');
  await ip(lab, underlay, 'link', 'add', 'ul0', 'type', 'bridge');
  await ip(lab, underlay, 'addr', 'add', `${UNDERLAY_GATEWAY}/24`, 'dev', 'ul0');
  await ip(lab, underlay, 'link', 'set', 'ul0', 'up');
  const hosts: NetNs[] = [];
  for (let i = 0; i < count; i++) {
    const ns = lab.ns(`h${i + 1}`);
    await ip(lab, ns, 'link', 'set', 'lo', 'up');
    await ip(lab, ns, 'link', 'add', 'ul', 'type', 'veth', 'peer', 'name', `ul-h${i + 1}`, 'netns', underlay.path!);
    await ip(lab, ns, 'addr', 'add', `${hostAddress(i)}/24`, 'dev', 'ul');
    await ip(lab, ns, 'link', 'set', 'ul', 'up');
    await ip(lab, ns, 'route', 'add', 'default', 'via', UNDERLAY_GATEWAY);
    await ip(lab, underlay, 'link', 'set', `ul-h${i + 1}`, 'master', 'ul0', 'up');
    hosts.push(ns);
  }
  return { underlay, hosts };
}

export interface EtcdHandle {
  readonly process: ChildProcess;
  stop(): Promise<void>;
  output(): string;
}

/** etcd on the underlay (client URL ETCD_URL), its data in the lab's folder: started again on the same data. */
export async function startEtcd(lab: Lab, underlay: NetNs): Promise<EtcdHandle> {
  const data = join(lab.dir, 'etcd-data');
  const child = spawn(
    'nsenter',
    [
      `--net=${underlay.path}`,
      '--',
      'etcd',
      '--name',
      'tsnet-test',
      '--data-dir',
      data,
      '--listen-client-urls',
      `http://${ETCD_URL}`,
      '--advertise-client-urls',
      `http://${ETCD_URL}`,
      '--listen-peer-urls',
      'http://127.0.0.1:2380',
      '--initial-advertise-peer-urls',
      'http://127.0.0.1:2380',
      '--initial-cluster',
      'tsnet-test=http://127.0.0.1:2380',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  for (let i = 0; i < 200 && !out.includes('ready to serve client requests'); i++) {
    if (child.exitCode !== null) throw new Error(`etcd exited (${child.exitCode}): ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!out.includes('ready to serve client requests')) throw new Error(`etcd did not start: ${out}`);
  return {
    process: child,
    output: () => out,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** What etcd holds under tsnet's prefix, read with etcdctl (independent of tsnet's client). */
export async function etcdKeys(lab: Lab, underlay: NetNs): Promise<string[]> {
  const { stdout } = await lab.exec(underlay, 'etcdctl', ['--endpoints', ETCD_URL, 'get', '--prefix', '--keys-only', '/tsnet/'], {});
  return stdout.split('\n').filter(Boolean);
}

/** The JSON values under a prefix, read with etcdctl. */
export async function etcdValues(lab: Lab, underlay: NetNs, prefix: string): Promise<Record<string, unknown>[]> {
  const { stdout } = await lab.exec(underlay, 'etcdctl', ['--endpoints', ETCD_URL, 'get', '--prefix', '--print-value-only', prefix], {});
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** The daemon of host i, in the cluster. */
export function startHostDaemon(lab: Lab, ns: NetNs, i: number, extra: readonly string[] = []): Promise<DaemonHandle> {
  return startDaemon(lab, `h${i + 1}`, ['--cluster-store', `etcd://${ETCD_URL}`, '--cluster-advertise', hostAddress(i), '--bridge', 'none', ...extra], ns);
}

/** Imports the busybox image into a host's daemon. */
export async function importBusybox(d: DaemonHandle, tarball: string): Promise<void> {
  const r = await tsnet(d, 'image', 'import', tarball, 'busybox');
  if (r.code !== 0) throw new Error(`importing busybox failed: ${r.stderr}`);
}
