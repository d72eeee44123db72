/**
 * An address pool: one subnet, optionally a narrower range for automatic allocation, a gateway and auxiliary
 * addresses that are never handed out. Allocation is sequential and circular, as Docker's: the next free address
 * after the last one handed out, so that a just-released address is not reused first.
 */
import { TsnetError } from '../errors.js';
import { IntervalSet } from './interval-set.js';
import { formatAddress, parseAddress, type Ip, type Subnet } from './subnet.js';

export type AddressSpace = 'local' | 'global';

export interface PoolConfig {
  readonly id: string;
  readonly space: AddressSpace;
  readonly subnet: Subnet;
  /** Where automatic allocation takes addresses from (default: the whole subnet). */
  readonly range: Subnet;
  readonly gateway?: Ip;
  /** Named addresses that are reserved, e.g. for a host already on the segment. */
  readonly auxAddresses: Readonly<Record<string, Ip>>;
}

export class PoolExhaustedError extends TsnetError {
  constructor(pool: PoolConfig) {
    super('TSNET_ERR_POOL_EXHAUSTED', `no free address left in ${pool.range.toString()} (pool ${pool.subnet.toString()})`);
  }
}

export class AddressPool {
  /** Free addresses of the whole subnet (the network, broadcast, gateway and auxiliary ones are never in it). */
  private readonly free: IntervalSet;
  private readonly allocated = new Set<bigint>();
  /** Where the next automatic search starts. */
  private cursor: bigint;

  constructor(readonly config: PoolConfig) {
    const { subnet } = config;
    this.free = IntervalSet.of(subnet.first, subnet.last);
    // The network address is never a host's; for IPv4 neither is the broadcast address (except in /31 and /32,
    // which have none, RFC 3021).
    if (subnet.family === 6 || subnet.prefixLen < 31) this.free.delete(subnet.first);
    if (subnet.family === 4 && subnet.prefixLen < 31) this.free.delete(subnet.last);
    if (config.gateway) this.free.delete(config.gateway.value);
    for (const aux of Object.values(config.auxAddresses)) this.free.delete(aux.value);
    this.cursor = config.range.first;
  }

  get id(): string {
    return this.config.id;
  }

  /** Addresses handed out, in no particular order. */
  get addresses(): string[] {
    return [...this.allocated].map((v) => formatAddress(this.config.subnet.address(v)));
  }

  /** The cursor, for persistence. */
  get nextSearch(): bigint {
    return this.cursor;
  }

  /** Restores the state saved from addresses and nextSearch. */
  restore(addresses: readonly string[], nextSearch: bigint): void {
    for (const a of addresses) this.allocate(a);
    this.cursor = nextSearch;
  }

  isAllocated(address: string): boolean {
    return this.allocated.has(parseAddress(address).value);
  }

  /**
   * Hands out an address: the given one if it is free, else the next free one of the range after the last
   * handed out. Throws a 409 for a taken or reserved address, a 400 for one outside the subnet, and
   * PoolExhaustedError when the range is full.
   */
  allocate(preferred?: string): string {
    const { subnet, range } = this.config;
    let value: bigint;
    if (preferred !== undefined) {
      const ip = parseAddress(preferred);
      if (!subnet.contains(ip)) {
        throw new TsnetError('TSNET_ERR_INVALID_ARGUMENT', `address ${preferred} is not in the subnet ${subnet.toString()}`);
      }
      if (!this.free.has(ip.value)) {
        const why = this.allocated.has(ip.value) ? 'is already in use' : 'is reserved (network, broadcast, gateway or auxiliary address)';
        throw new TsnetError('TSNET_ERR_CONFLICT', `address ${preferred} ${why}`);
      }
      value = ip.value;
    } else {
      const after = this.free.firstAtOrAfter(this.cursor);
      const wrapped = after !== undefined && after <= range.last ? after : this.free.firstAtOrAfter(range.first);
      if (wrapped === undefined || wrapped > range.last) throw new PoolExhaustedError(this.config);
      value = wrapped;
      this.cursor = value + 1n > range.last ? range.first : value + 1n;
    }
    this.free.delete(value);
    this.allocated.add(value);
    return formatAddress(subnet.address(value));
  }

  /** Returns an address; releasing one that is not handed out is a 404 (a caller's bookkeeping error). */
  release(address: string): void {
    const ip = parseAddress(address);
    if (!this.allocated.delete(ip.value)) {
      throw new TsnetError('TSNET_ERR_NOT_FOUND', `address ${address} is not allocated in pool ${this.config.subnet.toString()}`);
    }
    this.free.add(ip.value);
  }
}
