/**
 * IPAM: address spaces ("local", "global") of pools, and the addresses handed out of them. A pure, in-memory
 * allocator; the controller persists what it does. No two pools overlap, and automatic pools also avoid the
 * host's routes.
 */
import { randomUUID } from 'node:crypto';
import { InvalidArgumentError, TsnetError } from '../errors.js';
import { DEFAULT_GLOBAL_POOLS, DEFAULT_IPV6_POOLS, DEFAULT_LOCAL_POOLS, type DefaultPool } from './default-pools.js';
import { AddressPool, type AddressSpace, type PoolConfig } from './pool.js';
import { checkPoolAddresses, checkUsableSubnet } from './usable.js';
import { Subnet, checkNoOverlap, parseAddress, type Family, type Ip, type Reservation } from './subnet.js';

export interface PoolRequest {
  readonly space?: AddressSpace;
  /** Explicit subnet; without it a free one is cut from the default pools (IPv4 only). */
  readonly subnet?: string;
  readonly ipRange?: string;
  /** Default: the first usable address of the subnet, as Docker does; null for no gateway. */
  readonly gateway?: string | null;
  readonly auxAddresses?: Readonly<Record<string, string>>;
  readonly family?: Family;
  /** Fixes the pool id (restoring from the store). */
  readonly id?: string;
  /** Prefixes the subnet must not overlap, besides the other pools (the host's routes, networks without a pool). */
  readonly avoid?: readonly Reservation[];
}

export interface IpamOptions {
  readonly localPools?: readonly DefaultPool[];
  readonly globalPools?: readonly DefaultPool[];
}

export class Ipam {
  private readonly pools = new Map<string, AddressPool>();
  private readonly defaults: Record<AddressSpace, readonly DefaultPool[]>;

  constructor(options: IpamOptions = {}) {
    this.defaults = { local: options.localPools ?? DEFAULT_LOCAL_POOLS, global: options.globalPools ?? DEFAULT_GLOBAL_POOLS };
  }

  get poolList(): AddressPool[] {
    return [...this.pools.values()];
  }

  pool(id: string): AddressPool {
    const pool = this.pools.get(id);
    if (!pool) throw new TsnetError('TSNET_ERR_NOT_FOUND', `address pool ${id} does not exist`);
    return pool;
  }

  /** Checks a request and builds the pool's configuration without taking it: the caller can validate first. */
  planPool(request: PoolRequest): PoolConfig {
    const space = request.space ?? 'local';
    if (space !== 'local' && space !== 'global') throw new InvalidArgumentError(`unknown address space "${String(space)}"`);
    const subnet =
      request.subnet !== undefined ? Subnet.parse(request.subnet, { strict: true }) : this.freeSubnet(space, request.family ?? 4, request.avoid ?? []);
    if (request.family !== undefined && subnet.family !== request.family) {
      throw new InvalidArgumentError(`subnet ${subnet.toString()} is not an IPv${request.family} subnet`);
    }
    checkNoOverlap(subnet, [...this.reservations(), ...(request.avoid ?? [])]);
    let range = subnet;
    if (request.ipRange !== undefined) {
      range = Subnet.parse(request.ipRange, { what: 'ip range', strict: true });
      if (!subnet.covers(range)) throw new InvalidArgumentError(`ip range ${range.toString()} is not inside the subnet ${subnet.toString()}`);
    }
    const gateway =
      request.gateway === null ? undefined : request.gateway !== undefined ? this.inside(subnet, request.gateway, 'gateway') : defaultGateway(subnet);
    const auxAddresses: Record<string, Ip> = {};
    for (const [name, text] of Object.entries(request.auxAddresses ?? {})) auxAddresses[name] = this.inside(subnet, text, `auxiliary address "${name}"`);
    const config: PoolConfig = { id: request.id ?? randomUUID(), space, subnet, range, ...(gateway ? { gateway } : {}), auxAddresses };
    // A pool restored from the store was checked when it was made (by the rules of its day): it is taken as it is.
    if (request.id === undefined) {
      checkUsableSubnet(subnet);
      checkPoolAddresses(config);
    }
    return config;
  }

  /** Takes a pool. */
  requestPool(request: PoolRequest): AddressPool {
    return this.addPool(this.planPool(request));
  }

  addPool(config: PoolConfig): AddressPool {
    checkNoOverlap(config.subnet, this.reservations());
    const pool = new AddressPool(config);
    this.pools.set(config.id, pool);
    return pool;
  }

  releasePool(id: string): void {
    this.pool(id);
    this.pools.delete(id);
  }

  requestAddress(poolId: string, preferred?: string): string {
    return this.pool(poolId).allocate(preferred);
  }

  releaseAddress(poolId: string, address: string): void {
    this.pool(poolId).release(address);
  }

  /** The pools' subnets, as reservations. */
  private reservations(): Reservation[] {
    return this.poolList.map((p) => ({ subnet: p.config.subnet, holder: `pool ${p.config.subnet.toString()}` }));
  }

  private inside(subnet: Subnet, text: string, what: string): Ip {
    const ip = parseAddress(text, what);
    if (!subnet.contains(ip)) throw new InvalidArgumentError(`${what} ${text} is not in the subnet ${subnet.toString()}`);
    return ip;
  }

  /** The first subnet of the space's default pools that overlaps no pool and no host route. */
  private freeSubnet(space: AddressSpace, family: Family, avoid: readonly Reservation[]): Subnet {
    const taken = [...this.reservations(), ...avoid].map((r) => r.subnet).filter((s) => s.family === family);
    for (const { base, size } of family === 6 ? DEFAULT_IPV6_POOLS : this.defaults[space]) {
      const step = 1n << BigInt(base.bits - size);
      let candidate = base.first;
      while (candidate <= base.last) {
        const subnet = Subnet.of({ family, value: candidate }, size);
        const clash = taken.find((t) => t.overlaps(subnet));
        if (!clash) return subnet;
        // Jump past the clash instead of trying every subnet inside it.
        const next = clash.last + 1n;
        candidate = next > candidate ? ((next - base.first + step - 1n) / step) * step + base.first : candidate + step;
      }
    }
    throw new TsnetError('TSNET_ERR_POOL_EXHAUSTED', `no free subnet left in the default address pools of the ${space} space`);
  }
}

/** Docker's default gateway: the first address after the network's. */
function defaultGateway(subnet: Subnet): Ip | undefined {
  if (subnet.size < 4n) return undefined;
  return subnet.address(subnet.first + 1n);
}
