/**
 * A cluster of tsnet hosts on one machine, for tests, benches and demos: an underlay namespace with a bridge (the
 * hosts' shared network, which also plays the internet), a namespace per host linked to it, and an etcd server on
 * the underlay with its data in a folder of the caller's. Everything is made inside namespaces the caller owns.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Handle } from '../netlink/handle.js';
import type { NetNs } from '../netns/netns.js';

export const UNDERLAY = { gateway: '10.99.0.254', prefix: 24, etcd: '10.99.0.254:2379' } as const;

/** Host i's underlay address: 10.99.0.(i+1). */
export const hostAddress = (i: number): string => `10.99.0.${i + 1}`;

/** The underlay bridge, and per host a veth "ul" with its address and a default route through the underlay. */
export async function linkUnderlay(underlay: Handle, hosts: readonly { ns: NetNs; handle: Handle }[]): Promise<void> {
  await underlay.linkSetUp('lo');
  const bridge = await underlay.linkAdd({ kind: 'bridge', name: 'ul0', up: true });
  await underlay.addrAdd(bridge.index, `${UNDERLAY.gateway}/${UNDERLAY.prefix}`);
  for (const [i, h] of hosts.entries()) {
    const port = await underlay.linkAdd({ kind: 'veth', name: `ul-h${i + 1}`, masterIndex: bridge.index, up: true, peer: { name: 'ul', netns: h.ns } });
    await h.handle.linkSetUp('lo');
    await h.handle.linkSetUp(port.linkIndex!);
    await h.handle.addrAdd(port.linkIndex!, `${hostAddress(i)}/${UNDERLAY.prefix}`);
    await h.handle.routeAdd({ dst: 'default', gateway: UNDERLAY.gateway, oif: port.linkIndex! });
  }
}

export interface EtcdServer {
  readonly process: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** PEM files for etcd's client port: its certificate and key, and the CA its clients' certificates must chain to. */
export interface EtcdTls {
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
}

/**
 * Debian's etcd on the underlay (client URL UNDERLAY.etcd), its data in dataDir: started again on the same data.
 * With tls, clients speak https and must show a certificate of the CA.
 */
export async function startEtcd(underlay: NetNs, dataDir: string, tls?: EtcdTls): Promise<EtcdServer> {
  if (!underlay.path) throw new Error('etcd: refusing to run in the current namespace');
  const client = `${tls ? 'https' : 'http'}://${UNDERLAY.etcd}`;
  const tlsFlags = tls ? [`--cert-file=${tls.cert}`, `--key-file=${tls.key}`, `--trusted-ca-file=${tls.ca}`, '--client-cert-auth'] : [];
  const peer = 'http://127.0.0.1:2380';
  const child = spawn(
    'nsenter',
    [
      `--net=${underlay.path}`,
      '--',
      'etcd',
      '--name=tsnet',
      `--data-dir=${dataDir}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=tsnet=${peer}`,
      ...tlsFlags,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  for (let i = 0; i < 200 && !out.includes('ready to serve client requests'); i++) {
    if (child.exitCode !== null) throw new Error(`etcd exited (${child.exitCode}): ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const stop = (): Promise<void> =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  if (!out.includes('ready to serve client requests')) {
    await stop();
    throw new Error(`etcd did not start: ${out}`);
  }
  return { process: child, output: () => out, stop };
}
