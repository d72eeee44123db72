/**
 * Global networks and their addresses in etcd (the Controller's ClusterState). Every choice that must be unique
 * across hosts is made optimistically and committed in one transaction that compares what it was made from: a name,
 * a VXLAN id and a subnet per network; an address per endpoint. A transaction that loses a race is retried on fresh
 * reads, so two hosts never get the same address, also when they ask at the same moment.
 */
import { randomBytes } from 'node:crypto';
import type { Namespace } from 'etcd3';
import type { ClusterState, GlobalNetwork, GlobalNetworkDraft } from '../cnm/cluster.js';
import type { NetworkRecord, PoolRecord } from '../cnm/types.js';
import { OVERLAY_OPTIONS, parseVni } from '../drivers/overlay/options.js';
import { TsnetError } from '../errors.js';
import { Ipam } from '../ipam/ipam.js';
import { AddressPool } from '../ipam/pool.js';
import type { ClusterConnection } from './connection.js';
import type { Holdings } from './holdings.js';
import { keys, parseAddress, parseNetwork, type AddressRecord } from './keys.js';

/** VXLAN ids handed out start here, as Docker's overlay's do (lower ids are left to people who choose their own). */
const FIRST_VNI = 4096;
const ATTEMPTS = 30;

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class GlobalStore implements ClusterState {
  constructor(
    private readonly conn: ClusterConnection,
    private readonly hostId: string,
    private readonly holdings: Holdings,
  ) {}

  async createNetwork(draft: GlobalNetworkDraft, plan: (taken: readonly string[]) => PoolRecord): Promise<GlobalNetwork> {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const { networks, generation } = await this.conn.call('read the global networks', async (kv) => {
        // The guard first: a network made after it is read changes it, and the transaction below then fails. (A
        // modification revision never comes back; a version restarts when the key is made again.)
        const guard = (await kv.get(keys.networksGeneration).exec()).kvs[0]?.mod_revision ?? '0';
        const all = Object.values(await kv.getAll().prefix(keys.networks).strings()).flatMap((t) => parseNetwork(t) ?? []);
        return { networks: all, generation: guard };
      });
      if (networks.some((n) => n.name === draft.name))
        throw new TsnetError('TSNET_ERR_NETWORK_EXISTS', `network with name "${draft.name}" already exists in the cluster`);
      const pool = plan(networks.flatMap((n) => (n.pools.v4 ? [n.pools.v4.subnet] : [])));
      const explicit = draft.options[OVERLAY_OPTIONS.vni];
      const vni = explicit !== undefined ? parseVni(explicit) : freeVni(networks);
      const used = networks.find((n) => n.options[OVERLAY_OPTIONS.vni] === String(vni));
      if (used) throw new TsnetError('TSNET_ERR_CONFLICT', `VXLAN id ${vni} is used by network "${used.name}"`);
      const network: GlobalNetwork = {
        id: randomBytes(32).toString('hex'),
        name: draft.name,
        driver: draft.driver,
        created: new Date().toISOString(),
        internal: draft.internal,
        ipv6: false,
        options: { ...draft.options, [OVERLAY_OPTIONS.vni]: String(vni) },
        labels: draft.labels,
        pools: { v4: { ...pool, space: 'global' } },
      };
      const committed = await this.conn.call(`create network ${draft.name}`, async (kv) => {
        const result = await kv
          .if(keys.name(draft.name), 'Create', '==', 0)
          .and(keys.vni(vni), 'Create', '==', 0)
          .and(keys.networksGeneration, 'Mod', '==', Number(generation))
          .then(
            kv.put(keys.network(network.id)).value(JSON.stringify(network)),
            kv.put(keys.name(draft.name)).value(network.id),
            kv.put(keys.vni(vni)).value(network.id),
            kv.put(keys.networksGeneration).value(network.id),
          )
          .commit();
        return result.succeeded;
      });
      if (committed) return network;
    }
    throw new TsnetError('TSNET_ERR_CONFLICT', `network ${draft.name}: the cluster's networks kept changing while it was being created; try again`);
  }

  async removeNetwork(network: NetworkRecord): Promise<void> {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) if (await this.tryRemove(network)) return;
    throw new TsnetError('TSNET_ERR_CONFLICT', `network "${network.name}": the cluster kept changing while it was being removed; try again`);
  }

  /** One attempt: refused while endpoints hold addresses; false when the store changed between the read and the write. */
  private async tryRemove(network: NetworkRecord): Promise<boolean> {
    const generationKey = keys.addressesGeneration(network.id);
    const read = await this.conn.call(`read the endpoints of network ${network.name}`, async (kv) => {
      // The guards before what they guard: a change after a guard is read makes the transaction below fail.
      const generation = (await kv.get(generationKey).exec()).kvs[0]?.mod_revision ?? '0';
      const guard = (await kv.get(keys.networksGeneration).exec()).kvs[0]?.mod_revision ?? '0';
      const holders = Object.values(await kv.getAll().prefix(keys.addresses(network.id)).strings()).flatMap((t) => parseAddress(t) ?? []);
      return { generation, guard, holders, networks: await kv.getAll().prefix(keys.networks).count() };
    });
    if (read.holders.length > 0) {
      const hosts = [...new Set(read.holders.map((h) => h.host.slice(0, 12)))];
      throw new TsnetError(
        'TSNET_ERR_NETWORK_IN_USE',
        `network "${network.name}" has ${read.holders.length} endpoint(s) in the cluster, on host(s) ${hosts.join(', ')}`,
      );
    }
    const vni = network.options[OVERLAY_OPTIONS.vni];
    // The last network takes the networks' guard with it, so that nothing of tsnet's is left in the store.
    const last = read.networks <= 1;
    const removed = await this.conn.call(`remove network ${network.name}`, async (kv) => {
      const txn = kv.if(generationKey, 'Mod', '==', Number(read.generation));
      if (last) txn.and(keys.networksGeneration, 'Mod', '==', Number(read.guard));
      const result = await txn
        .then(
          kv.delete().key(keys.network(network.id)),
          kv.delete().key(keys.name(network.name)),
          ...(vni !== undefined ? [kv.delete().key(keys.vni(Number(vni)))] : []),
          kv.delete().key(generationKey),
          kv.delete().prefix(keys.addresses(network.id)),
          ...(last ? [kv.delete().key(keys.networksGeneration)] : []),
        )
        .commit();
      return result.succeeded;
    });
    return removed;
  }

  async requestAddress(network: NetworkRecord, pool: PoolRecord, endpointId: string, preferred?: string): Promise<string> {
    const lease = this.conn.lease();
    const value: AddressRecord = { endpoint: endpointId, host: this.hostId };
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const address = freeAddress(pool, await this.addressesOf(network.id), preferred);
      const committed = await this.conn.call(`take address ${address} on network ${network.name}`, async (kv) => {
        const result = await kv
          .if(keys.network(network.id), 'Create', '>', 0)
          .and(keys.address(network.id, address), 'Create', '==', 0)
          .then(lease.put(keys.address(network.id, address)).value(JSON.stringify(value)), kv.put(keys.addressesGeneration(network.id)).value(address))
          .commit();
        if (result.succeeded) return true;
        if (!(await kv.get(keys.network(network.id)).exists())) {
          throw new TsnetError('TSNET_ERR_NETWORK_NOT_FOUND', `network "${network.name}" is no longer in the cluster`);
        }
        return false;
      });
      if (committed) {
        this.holdings.addressTaken(keys.address(network.id, address), JSON.stringify(value));
        return address;
      }
      if (preferred !== undefined) throw new TsnetError('TSNET_ERR_CONFLICT', `address ${preferred} is already in use in the cluster`);
      await pause(Math.random() * 5 * (attempt + 1));
    }
    throw new TsnetError('TSNET_ERR_CONFLICT', `network ${network.name}: no address could be taken, others kept taking them first`);
  }

  async releaseAddress(network: NetworkRecord, address: string): Promise<void> {
    await this.conn.call(`give back address ${address} of network ${network.name}`, (kv) => releaseOwned(kv, this.hostId, network.id, address));
    this.holdings.addressReleased(keys.address(network.id, address));
  }

  /** The addresses taken on a network. */
  async addressesOf(networkId: string): Promise<string[]> {
    const all = await this.conn.call(`read the addresses of network ${networkId.slice(0, 12)}`, async (kv) =>
      kv.getAll().prefix(keys.addresses(networkId)).keys(),
    );
    return all.map((k) => k.slice(keys.addresses(networkId).length));
  }
}

/** Deletes an address key if this host holds it (and bumps the network's address generation). */
export async function releaseOwned(kv: Namespace, hostId: string, networkId: string, address: string): Promise<void> {
  const key = keys.address(networkId, address);
  const text = await kv.get(key).string();
  if (text === null || parseAddress(text)?.host !== hostId) return;
  await kv
    .if(key, 'Value', '==', text)
    .then(kv.delete().key(key), kv.put(keys.addressesGeneration(networkId)).value(address))
    .commit();
}

function freeVni(networks: readonly GlobalNetwork[]): number {
  const used = new Set(networks.map((n) => Number(n.options[OVERLAY_OPTIONS.vni])));
  let vni = FIRST_VNI;
  while (used.has(vni)) vni++;
  return vni;
}

/** The lowest free address of the pool's range (or the preferred one), given those taken. */
function freeAddress(pool: PoolRecord, taken: readonly string[], preferred?: string): string {
  const config = new Ipam().planPool({
    id: pool.id,
    space: 'global',
    subnet: pool.subnet,
    gateway: pool.gateway ?? null,
    auxAddresses: pool.auxAddresses,
    ...(pool.ipRange ? { ipRange: pool.ipRange } : {}),
  });
  const addresses = new AddressPool(config);
  addresses.restore(taken, config.range.first);
  return addresses.allocate(preferred);
}
