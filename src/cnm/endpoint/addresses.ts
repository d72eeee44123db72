/** An endpoint's addresses: taken from its network's pools, recorded in the store, and given back. */
import { addressOf, onSubnet } from '../../ipam/subnet.js';
import type { CnmCore } from '../core.js';
import { persistAddress } from '../pools.js';
import type { EndpointRecord, NetworkRecord } from '../types.js';
import type { UndoStack } from '../undo.js';

export interface Addresses {
  /** "10.1.0.2/24" */
  readonly ipv4?: string;
  readonly ipv6?: string;
}

/**
 * Takes an address from each of the network's pools (the requested one, else the next free); undone on failure. A
 * global network's addresses are taken in the cluster store, for the endpoint of this id.
 */
export async function takeAddresses(
  core: CnmCore,
  network: NetworkRecord,
  endpointId: string,
  wanted: { ip?: string; ip6?: string },
  undo: UndoStack,
): Promise<Addresses> {
  const out: { ipv4?: string; ipv6?: string } = {};
  for (const [family, pool, preferred] of [
    ['ipv4', network.pools.v4, wanted.ip],
    ['ipv6', network.pools.v6, wanted.ip6],
  ] as const) {
    if (!pool) continue;
    const { cluster } = core.deps;
    if (pool.space === 'global' && cluster) {
      const address = await cluster.requestAddress(network, pool, endpointId, preferred);
      undo.push(`release address ${address}`, () => cluster.releaseAddress(network, address));
      out[family] = onSubnet(address, pool.subnet);
      continue;
    }
    const address = core.deps.ipam.requestAddress(pool.id, preferred);
    undo.push(`release address ${address}`, () => core.deps.ipam.releaseAddress(pool.id, address));
    out[family] = onSubnet(address, pool.subnet);
  }
  return out;
}

/** The (pool, address) pairs of an endpoint whose pools are tsnet's (Docker returns its own addresses). */
function owned(network: NetworkRecord | undefined, e: EndpointRecord): { poolId: string; address: string }[] {
  if (!network) return [];
  return [
    [network.pools.v4, e.ipv4],
    [network.pools.v6, e.ipv6],
  ].flatMap(([pool, cidr]) =>
    pool && typeof pool === 'object' && !pool.external && typeof cidr === 'string' ? [{ poolId: pool.id, address: addressOf(cidr) }] : [],
  );
}

/** Writes the endpoint's address rows (call inside a store transaction). */
export function persistAddresses(core: CnmCore, network: NetworkRecord, e: EndpointRecord): void {
  for (const { poolId, address } of owned(network, e)) persistAddress(core, poolId, address);
}

/** Deletes an endpoint's record and its address rows (call inside a store transaction). */
export function forgetEndpoint(core: CnmCore, e: EndpointRecord): void {
  core.deps.store.delete('endpoints', e.id);
  for (const { poolId, address } of owned(core.state.findNetwork(e.networkId), e)) core.deps.store.removeAddress(poolId, address);
}

/** Returns an endpoint's addresses to IPAM and its host ports to the kernel, and drops it from memory. */
export function releaseEndpoint(core: CnmCore, e: EndpointRecord): void {
  core.ports.release(e.id);
  for (const { poolId, address } of owned(core.state.findNetwork(e.networkId), e)) core.deps.ipam.releaseAddress(poolId, address);
  core.state.dropEndpoint(e.id);
}
