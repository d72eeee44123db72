/**
 * A cluster of tsnet hosts inside one lab: an underlay namespace with a bridge (the hosts' shared network, which also
 * plays the internet), a namespace per host with its own daemon and root, and an etcd server started on the
 * underlay, with its data in the lab's folder. Everything is removed with the lab, also when a test fails.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UNDERLAY, hostAddress, linkUnderlay, startEtcd as startEtcdServer, type EtcdServer, type EtcdTls } from '../../src/lab/cluster.js';
import type { NetNs } from '../../src/netns/netns.js';
import { importBusybox, startDaemon, type DaemonHandle } from './daemon.js';

export { importBusybox };
import type { Lab } from './lab.js';

export { hostAddress };
export const UNDERLAY_GATEWAY = UNDERLAY.gateway;
export const ETCD_URL = UNDERLAY.etcd;
export type EtcdHandle = EtcdServer;

/** The underlay and the hosts' namespaces, made in the lab. */
export async function makeUnderlay(lab: Lab, count: number): Promise<{ underlay: NetNs; hosts: NetNs[] }> {
  const underlay = lab.ns('underlay');
  const hosts = Array.from({ length: count }, (_, i) => lab.ns(`h${i + 1}`));
  await linkUnderlay(
    lab.handle(underlay),
    hosts.map((ns) => ({ ns, handle: lab.handle(ns) })),
  );
  return { underlay, hosts };
}

/** etcd on the underlay, its data in the lab's folder (started again on the same data). */
export const startEtcd = (lab: Lab, underlay: NetNs, tls?: EtcdTls): Promise<EtcdServer> => startEtcdServer(underlay, join(lab.dir, 'etcd-data'), tls);

/**
 * A CA, a certificate for etcd (its underlay address as subject name) and one for a client, made with openssl in
 * dir: what --cluster-store-opt takes.
 */
export function makeEtcdCertificates(dir: string): EtcdTls & { clientCert: string; clientKey: string } {
  const run = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=tsnet-test-ca');
  for (const [name, ext] of [
    ['server', `subjectAltName=IP:${UNDERLAY.gateway}\nextendedKeyUsage=serverAuth`],
    ['client', 'extendedKeyUsage=clientAuth'],
  ] as const) {
    writeFileSync(join(dir, `${name}.ext`), `${ext}\n`);
    run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=tsnet-${name}`);
    run(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      `${name}.pem`,
      '-days',
      '1',
      '-extfile',
      `${name}.ext`,
    );
  }
  return {
    ca: join(dir, 'ca.pem'),
    cert: join(dir, 'server.pem'),
    key: join(dir, 'server.key'),
    clientCert: join(dir, 'client.pem'),
    clientKey: join(dir, 'client.key'),
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
