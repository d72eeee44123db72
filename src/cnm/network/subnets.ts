/** What a new subnet must not overlap besides IPAM's own pools: the host's routes and networks without a pool. */
import { Subnet, type Reservation } from '../../ipam/subnet.js';
import type { CnmCore } from '../core.js';
import type { NetworkRecord } from '../types.js';

/**
 * The host's IPv4 routes: all but the default route and the routes of tsnet's own networks (those are checked as
 * pools).
 */
export async function hostRoutes(core: CnmCore): Promise<Reservation[]> {
  const own = new Set(core.state.networkList().flatMap((n) => (n.pools.v4 ? [n.pools.v4.subnet] : [])));
  const routes = await core.driverCtx.host.routeList({ family: 'inet' });
  return routes
    .filter((r) => r.dst !== 'default' && !own.has(r.dst))
    .map((r) => ({ subnet: Subnet.parse(r.dst), holder: `the host's route to ${Subnet.parse(r.dst).toString()}` }));
}

/** The pools of networks, as reservations; `external` keeps only the pools IPAM does not hold (Docker's). */
export function networkPools(networks: readonly NetworkRecord[], which: 'all' | 'external'): Reservation[] {
  return networks.flatMap((n) =>
    [n.pools.v4, n.pools.v6].flatMap((p) =>
      p && (which === 'all' || p.external) ? [{ subnet: Subnet.parse(p.subnet), holder: `network "${n.name}" (${p.subnet})` }] : [],
    ),
  );
}
