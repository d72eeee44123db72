/**
 * The cluster store as the Controller sees it: where global-scope networks and their addresses live (etcd, in
 * src/cluster/). The Controller holds a copy of each global network it has made on this host, for reconciliation;
 * the cluster store is the truth of which exist and of which addresses are taken.
 */
import type { NetworkRecord, PoolRecord } from './types.js';

/** A global network as the cluster store holds it: everything but what each host's driver makes of its options. */
export type GlobalNetwork = Omit<NetworkRecord, 'config' | 'owner'>;

/** What a new global network asks for; the cluster adds its id, its pool and its driver options (a VXLAN id). */
export interface GlobalNetworkDraft {
  readonly name: string;
  readonly driver: NetworkRecord['driver'];
  readonly internal: boolean;
  readonly options: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
}

export interface ClusterState {
  /**
   * Creates a network in the store, in one transaction: its name unique across hosts, its subnet overlapping no
   * other global network's (plan is given their subnets and returns the pool), its VXLAN id free.
   */
  createNetwork(draft: GlobalNetworkDraft, plan: (taken: readonly string[]) => PoolRecord): Promise<GlobalNetwork>;
  /** Removes a network from the store; refused while any host has an endpoint on it. */
  removeNetwork(network: NetworkRecord): Promise<void>;
  /** Takes an address of a global pool for an endpoint of this host, in one transaction (the preferred one if asked). */
  requestAddress(network: NetworkRecord, pool: PoolRecord, endpointId: string, preferred?: string): Promise<string>;
  /** Gives an address back (an undone connect; a left endpoint's go with its announcement). */
  releaseAddress(network: NetworkRecord, address: string): Promise<void>;
}
