/**
 * Default address pools, as Docker's: 172.17.0.0/16 to 172.31.0.0/16, then 192.168.0.0/16 cut into /20s, for the
 * local space; 10.0.0.0/8 cut into /24s for the global one. Configurable with "base=CIDR,size=N" like dockerd's
 * --default-address-pool.
 */
import { InvalidArgumentError } from '../errors.js';
import { Subnet } from './subnet.js';

export interface DefaultPool {
  readonly base: Subnet;
  /** Prefix length of the subnets cut from base. */
  readonly size: number;
}

export const DEFAULT_LOCAL_POOLS: readonly DefaultPool[] = [
  { base: Subnet.parse('172.17.0.0/16'), size: 16 },
  { base: Subnet.parse('172.18.0.0/16'), size: 16 },
  { base: Subnet.parse('172.19.0.0/16'), size: 16 },
  { base: Subnet.parse('172.20.0.0/14'), size: 16 },
  { base: Subnet.parse('172.24.0.0/14'), size: 16 },
  { base: Subnet.parse('172.28.0.0/14'), size: 16 },
  { base: Subnet.parse('192.168.0.0/16'), size: 20 },
];

export const DEFAULT_GLOBAL_POOLS: readonly DefaultPool[] = [{ base: Subnet.parse('10.0.0.0/8'), size: 24 }];

/** IPv6 networks given no subnet get a /64 of the unique local addresses (fd00::/8), as Docker 27 and later do. */
export const DEFAULT_IPV6_POOLS: readonly DefaultPool[] = [{ base: Subnet.parse('fd00::/8'), size: 64 }];

/** "base=10.10.0.0/16,size=24" */
export function parseDefaultPool(text: string): DefaultPool {
  const fields = new Map<string, string>();
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq === -1) throw new InvalidArgumentError(`default address pool "${text}": expected base=CIDR,size=N`);
    fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  for (const key of fields.keys()) {
    if (key !== 'base' && key !== 'size') throw new InvalidArgumentError(`default address pool "${text}": unknown field "${key}"`);
  }
  const baseText = fields.get('base');
  const sizeText = fields.get('size');
  if (!baseText || !sizeText) throw new InvalidArgumentError(`default address pool "${text}": both base and size are needed`);
  const base = Subnet.parse(baseText, { what: 'default pool base', strict: true });
  const size = /^\d{1,3}$/u.test(sizeText) ? Number(sizeText) : NaN;
  if (!(size >= base.prefixLen && size <= base.bits)) {
    throw new InvalidArgumentError(`default address pool "${text}": size must be from ${base.prefixLen} to ${base.bits}`);
  }
  return { base, size };
}
