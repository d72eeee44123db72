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
  await driver.deleteNetwork(core.driverCtx, network);
  const pools = [network.pools.v4, network.pools.v6].flatMap((p) => (p && !p.external ? [p] : []));
  core.deps.store.transaction(() => {
    core.deps.store.delete('networks', network.id);
    for (const p of pools) forgetPool(core, p.id);
  });
  core.state.dropNetwork(network.id);
  for (const p of pools) core.deps.ipam.releasePool(p.id);
}

/** Removes every network of tsnet's that nothing uses; returns their names. */
export async function pruneNetworks(core: CnmCore): Promise<string[]> {
  const unused = core.state
    .networkList()
    .filter((n) => !removalRefusal(n, 'tsnet', core.predefined) && core.state.endpointsOf({ networkId: n.id }).length === 0);
  for (const n of unused) await deleteNetwork(core, n, 'tsnet');
  return unused.map((n) => n.name);
}
