/**
 * IP prefixes as numbers: parsing (through ipaddr.js), bigint arithmetic, containment and overlap, for IPv4 and
 * IPv6 alike. Pure.
 */
import ipaddr from 'ipaddr.js';
import { InvalidArgumentError, TsnetError } from '../errors.js';

export type Family = 4 | 6;

export const bitsOf = (family: Family): number => (family === 4 ? 32 : 128);

/** An address as a number and its family. */
export interface Ip {
  readonly family: Family;
  readonly value: bigint;
}

export function parseAddress(text: string, what = 'address'): Ip {
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) addr = ipaddr.IPv4.parse(text);
  else if (ipaddr.IPv6.isValid(text) && !text.includes('/')) addr = ipaddr.IPv6.parse(text);
  else throw new InvalidArgumentError(`invalid ${what} "${text}": not an IPv4 or IPv6 address`);
  let value = 0n;
  for (const byte of addr.toByteArray()) value = (value << 8n) | BigInt(byte);
  return { family: addr.kind() === 'ipv4' ? 4 : 6, value };
}

export function formatAddress(ip: Ip): string {
  const bytes: number[] = [];
  let v = ip.value;
  for (let i = 0; i < bitsOf(ip.family) / 8; i++) {
    bytes.unshift(Number(v & 0xffn));
    v >>= 8n;
  }
  return ipaddr.fromByteArray(bytes).toString();
}

/** A prefix such as 10.1.0.0/16, always held in its canonical form (host bits zero). */
export class Subnet {
  private constructor(
    readonly family: Family,
    readonly network: bigint,
    readonly prefixLen: number,
  ) {}

  /** Parses "10.1.0.0/16"; with strict, host bits must be zero ("10.1.0.5/16" is refused). */
  static parse(text: string, options: { what?: string; strict?: boolean } = {}): Subnet {
    const what = options.what ?? 'subnet';
    const slash = text.indexOf('/');
    if (slash === -1) throw new InvalidArgumentError(`invalid ${what} "${text}": expected an address and a prefix length, like 10.1.0.0/16`);
    const ip = parseAddress(text.slice(0, slash), what);
    const lenText = text.slice(slash + 1);
    const prefixLen = /^\d{1,3}$/u.test(lenText) ? Number(lenText) : NaN;
    if (!(prefixLen >= 0 && prefixLen <= bitsOf(ip.family))) {
      throw new InvalidArgumentError(`invalid ${what} "${text}": prefix length must be from 0 to ${bitsOf(ip.family)}`);
    }
    const subnet = Subnet.of(ip, prefixLen);
    if (options.strict && subnet.network !== ip.value) {
      throw new InvalidArgumentError(`invalid ${what} "${text}": host bits are set (did you mean ${subnet}?)`);
    }
    return subnet;
  }

  static of(ip: Ip, prefixLen: number): Subnet {
    const bits = BigInt(bitsOf(ip.family));
    const hostBits = bits - BigInt(prefixLen);
    const mask = ((1n << bits) - 1n) ^ ((1n << hostBits) - 1n);
    return new Subnet(ip.family, ip.value & mask, prefixLen);
  }

  get bits(): number {
    return bitsOf(this.family);
  }
  /** How many addresses the prefix holds. */
  get size(): bigint {
    return 1n << BigInt(this.bits - this.prefixLen);
  }
  get first(): bigint {
    return this.network;
  }
  get last(): bigint {
    return this.network + this.size - 1n;
  }

  contains(ip: Ip): boolean {
    return ip.family === this.family && ip.value >= this.first && ip.value <= this.last;
  }

  /** Whether other lies inside this prefix. */
  covers(other: Subnet): boolean {
    return other.family === this.family && other.first >= this.first && other.last <= this.last;
  }

  overlaps(other: Subnet): boolean {
    return other.family === this.family && other.first <= this.last && this.first <= other.last;
  }

  address(value: bigint): Ip {
    return { family: this.family, value };
  }

  toString(): string {
    return `${formatAddress({ family: this.family, value: this.network })}/${this.prefixLen}`;
  }
}

/** An interface address with its prefix length, as "10.1.0.2/24": the address alone ("10.1.0.2"). */
export function addressOf(cidr: string): string {
  const slash = cidr.indexOf('/');
  const text = slash === -1 ? cidr : cidr.slice(0, slash);
  return formatAddress(parseAddress(text));
}

/** An address on a subnet, written with the subnet's prefix length: ("10.1.0.2", "10.1.0.0/24") -> "10.1.0.2/24". */
export function onSubnet(address: string, subnet: string | Subnet): string {
  const prefix = typeof subnet === 'string' ? Subnet.parse(subnet) : subnet;
  return `${address}/${prefix.prefixLen}`;
}

/** A prefix that something holds: a pool, a network, a route of the host. */
export interface Reservation {
  readonly subnet: Subnet;
  /** What holds it, for messages: 'pool 10.1.0.0/16', 'network "web" (10.1.0.0/24)', "the host's route to ...". */
  readonly holder: string;
}

export class PoolOverlapError extends TsnetError {
  constructor(subnet: Subnet, holder: string) {
    super('TSNET_ERR_POOL_OVERLAP', `subnet ${subnet.toString()} overlaps ${holder}`);
  }
}

/** The one overlap check: throws PoolOverlapError naming the first reservation that subnet overlaps. */
export function checkNoOverlap(subnet: Subnet, reserved: Iterable<Reservation>): void {
  for (const r of reserved) if (r.subnet.overlaps(subnet)) throw new PoolOverlapError(subnet, r.holder);
}
