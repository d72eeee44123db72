/**
 * The daemon's cluster flags, as Docker's were: --cluster-store etcd://HOST:PORT[,HOST:PORT],
 * --cluster-advertise ADDRESS, --cluster-store-opt kv.cacertfile=...,kv.certfile=...,kv.keyfile=..., and the
 * lease's time to live.
 */
import { readFileSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import { InvalidArgumentError } from '../errors.js';

export interface ClusterOptions {
  /** As given, for messages: "etcd://10.0.0.1:2379". */
  readonly store: string;
  /** gRPC endpoints: "http://10.0.0.1:2379" (https with TLS). */
  readonly endpoints: readonly string[];
  /** This host's underlay address: its tunnels' local end, announced to the other hosts. */
  readonly advertise: string;
  /** A dead host's endpoints leave the others' tables when its lease expires, this many seconds after its last word. */
  readonly leaseTtlSeconds: number;
  readonly tls?: { readonly ca: Buffer; readonly cert?: Buffer; readonly key?: Buffer };
}

export const DEFAULT_LEASE_TTL_SECONDS = 15;

const STORE_OPTS = ['kv.cacertfile', 'kv.certfile', 'kv.keyfile'] as const;

function parseStoreOpts(opts: readonly string[]): Partial<Record<(typeof STORE_OPTS)[number], string>> {
  const out: Partial<Record<(typeof STORE_OPTS)[number], string>> = {};
  for (const pair of opts.flatMap((o) => o.split(',')).filter(Boolean)) {
    const eq = pair.indexOf('=');
    const key = pair.slice(0, eq) as (typeof STORE_OPTS)[number];
    if (eq < 1 || !STORE_OPTS.includes(key)) throw new InvalidArgumentError(`--cluster-store-opt "${pair}": known options are ${STORE_OPTS.join(', ')}`);
    out[key] = pair.slice(eq + 1);
  }
  return out;
}

function readPem(path: string | undefined, what: string): Buffer | undefined {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path);
  } catch (err) {
    throw new InvalidArgumentError(`--cluster-store-opt ${what}=${path}: ${(err as Error).message}`);
  }
}

export function parseClusterOptions(input: { store: string; advertise?: string; storeOpts?: readonly string[]; leaseTtl?: string }): ClusterOptions {
  const m = /^etcd:\/\/(.+)$/u.exec(input.store);
  if (!m) throw new InvalidArgumentError(`--cluster-store "${input.store}" is not etcd://HOST:PORT[,HOST:PORT...]`);
  const hosts = m[1]!.split(',');
  for (const h of hosts) {
    if (!/^[^:/\s]+:\d{1,5}$/u.test(h) && !/^\[[0-9a-fA-F:]+\]:\d{1,5}$/u.test(h)) throw new InvalidArgumentError(`--cluster-store: "${h}" is not HOST:PORT`);
  }
  if (!input.advertise) throw new InvalidArgumentError('--cluster-store needs --cluster-advertise: the address other hosts reach this one at');
  if (!isIPv4(input.advertise)) throw new InvalidArgumentError(`--cluster-advertise "${input.advertise}" is not an IPv4 address of this host`);
  const ttlText = input.leaseTtl ?? String(DEFAULT_LEASE_TTL_SECONDS);
  if (!/^\d+$/u.test(ttlText) || Number(ttlText) < 2 || Number(ttlText) > 3600) {
    throw new InvalidArgumentError(`--cluster-lease-ttl "${ttlText}" must be a whole number of seconds from 2 to 3600`);
  }
  const opts = parseStoreOpts(input.storeOpts ?? []);
  const ca = readPem(opts['kv.cacertfile'], 'kv.cacertfile');
  const cert = readPem(opts['kv.certfile'], 'kv.certfile');
  const key = readPem(opts['kv.keyfile'], 'kv.keyfile');
  if (!ca && (cert || key)) throw new InvalidArgumentError('--cluster-store-opt: kv.certfile and kv.keyfile need kv.cacertfile');
  if (!!cert !== !!key) throw new InvalidArgumentError('--cluster-store-opt: kv.certfile and kv.keyfile go together');
  return {
    store: input.store,
    endpoints: hosts.map((h) => `${ca ? 'https' : 'http'}://${h}`),
    advertise: input.advertise,
    leaseTtlSeconds: Number(ttlText),
    ...(ca ? { tls: { ca, ...(cert ? { cert } : {}), ...(key ? { key } : {}) } } : {}),
  };
}
