/**
 * The one path of address pools, for networks' pools and Docker's alike: plan and take a pool, restore it from the
 * store, hand out and take back addresses, and the store rows that record them (written inside the caller's
 * transaction, so that a change and its addresses are committed together).
 */
import type { AddressPool, PoolConfig } from '../ipam/pool.js';
import { formatAddress } from '../ipam/subnet.js';
import type { CnmCore } from './core.js';
import type { PoolRecord } from './types.js';

/** What a pool is made of in the store (a network's PoolRecord, or Docker's pool record). */
export interface StoredPool {
  readonly id: string;
  readonly space: 'local' | 'global';
  readonly subnet: string;
  readonly ipRange?: string;
  readonly gateway?: string;
  readonly auxAddresses?: Readonly<Record<string, string>>;
}

/** Puts a stored pool back into IPAM with the addresses and cursor the store recorded. */
export function restorePool(core: CnmCore, p: StoredPool): AddressPool {
  const { ipam, store } = core.deps;
  const pool = ipam.addPool(
    ipam.planPool({
      id: p.id,
      space: p.space,
      subnet: p.subnet,
      gateway: p.gateway ?? null,
      ...(p.auxAddresses ? { auxAddresses: p.auxAddresses } : {}),
      ...(p.ipRange ? { ipRange: p.ipRange } : {}),
    }),
  );
  pool.restore(store.addresses(p.id), store.cursor(p.id) ?? pool.nextSearch);
  return pool;
}

/** A network's pool record from a planned pool. */
export function poolRecord(p: PoolConfig): PoolRecord {
  return {
    id: p.id,
    space: p.space,
    subnet: p.subnet.toString(),
    ...(p.range.toString() !== p.subnet.toString() ? { ipRange: p.range.toString() } : {}),
    ...(p.gateway ? { gateway: formatAddress(p.gateway) } : {}),
    auxAddresses: Object.fromEntries(Object.entries(p.auxAddresses).map(([k, v]) => [k, formatAddress(v)])),
  };
}

/** Records a pool's cursor (call inside a store transaction). */
export function persistCursor(core: CnmCore, poolId: string): void {
  core.deps.store.setCursor(poolId, core.deps.ipam.pool(poolId).nextSearch);
}

/** Records a handed-out address and the pool's cursor (call inside a store transaction). */
export function persistAddress(core: CnmCore, poolId: string, address: string): void {
  core.deps.store.addAddress(poolId, address);
  persistCursor(core, poolId);
}

/** Forgets a pool's rows (call inside a store transaction). */
export function forgetPool(core: CnmCore, poolId: string): void {
  core.deps.store.deletePool(poolId);
}
