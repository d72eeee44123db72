/**
 * Network removal, and who may remove what: a Docker network only through Docker, the predefined "none" never.
 * A network with endpoints is refused and they are named.
 */
import { TsnetError } from '../../errors.js';
import type { CnmCore } from '../core.js';
import { forgetPool } from '../pools.js';
import type { NetworkRecord } from '../types.js';

/** The network sandboxes join when they ask for none: made at start-up, never removed. */
export const NULL_NETWORK = 'none';

/** Docker's host network: its containers share tsnet's host namespace. */
export const HOST_NETWORK = 'host';

/** Docker's default network: containers run without --network join it (unless the daemon runs with --bridge none). */
export const DEFAULT_BRIDGE_NETWORK = 'bridge';

/** Who asks: tsnet's own API, or Docker through the plugin. */
export type Requester = 'tsnet' | 'docker';

/** Why the requester may not remove the network, or undefined when it may. */
export function removalRefusal(network: NetworkRecord, by: Requester, predefined: ReadonlySet<string>): string | undefined {
  if (by === 'tsnet' && network.owner === 'docker') return `network "${network.name}" belongs to Docker: remove it with docker network rm`;
  if (predefined.has(network.name) && network.owner === 'tsnet') return `network "${network.name}" is predefined and cannot be removed`;
  return undefined;
}

export async function deleteNetwork(core: CnmCore, network: NetworkRecord, by: Requester): Promise<void> {
  const refusal = removalRefusal(network, by, core.predefined);
  if (refusal) throw new TsnetError('TSNET_ERR_CONFLICT', refusal);
  const endpoints = core.state.endpointsOf({ networkId: network.id });
  if (endpoints.length > 0) {
    throw new TsnetError('TSNET_ERR_NETWORK_IN_USE', `network "${network.name}" has active endpoints: ${endpoints.map((e) => e.name).join(', ')}`);
  }
  const driver = core.driver(network.driver);
  // A global network goes from the cluster store first (refused there while another host has endpoints on it).
  if (driver.capabilities.scope === 'global' && core.deps.cluster) await core.deps.cluster.removeNetwork(network);
  await driver.deleteNetwork(core.driverCtx, network);
  const pools = [network.pools.v4, network.pools.v6].flatMap((p) => (p && !p.external ? [p] : []));
  core.deps.store.transaction(() => {
    core.deps.store.delete('networks', network.id);
    for (const p of pools) forgetPool(core, p.id);
  });
  core.state.dropNetwork(network.id);
  for (const p of pools) core.deps.ipam.releasePool(p.id);
}

/** Which networks a prune takes: made before `until`, carrying each label ("key" or "key=value"). */
export interface PruneFilter {
  readonly until?: Date;
  readonly labels?: readonly string[];
}

const hasLabel = (n: NetworkRecord, label: string): boolean => {
  const eq = label.indexOf('=');
  return eq === -1 ? label in n.labels : n.labels[label.slice(0, eq)] === label.slice(eq + 1);
};

/** Removes every network of tsnet's that nothing uses (and the filter takes); returns their names. */
export async function pruneNetworks(core: CnmCore, filter: PruneFilter = {}): Promise<string[]> {
  const unused = core.state
    .networkList()
    .filter((n) => !removalRefusal(n, 'tsnet', core.predefined) && core.state.endpointsOf({ networkId: n.id }).length === 0)
    .filter((n) => (!filter.until || new Date(n.created) < filter.until) && (filter.labels ?? []).every((l) => hasLabel(n, l)));
  for (const n of unused) await deleteNetwork(core, n, 'tsnet');
  return unused.map((n) => n.name);
}
