/**
 * Global-scope networks (overlay): created in the cluster store, then made on this host; made on the other hosts
 * when their daemons see them appear (adopt), removed from each when they disappear (forget). The local copy of the
 * record (with this host's driver config) is what reconciliation at start-up works from.
 */
import type { NetworkCreate } from '../../api/networks.js';
import { InvalidArgumentError, TsnetError } from '../../errors.js';
import type { NetworkDriver } from '../../drivers/driver.js';
import { Subnet, type Reservation } from '../../ipam/subnet.js';
import type { GlobalNetwork } from '../cluster.js';
import type { CnmCore } from '../core.js';
import { poolRecord } from '../pools.js';
import type { NetworkRecord, RemotePeer } from '../types.js';
import { UndoStack } from '../undo.js';
import { hostRoutes, networkPools } from './subnets.js';

function clusterOf(core: CnmCore, driver: NetworkDriver) {
  const cluster = core.deps.cluster;
  if (!cluster) {
    throw new InvalidArgumentError(`${driver.name} networks span hosts: start the daemon with --cluster-store and --cluster-advertise`);
  }
  return cluster;
}

/** Creates the network in the cluster store, then on this host; if this host cannot make it, it goes from the store. */
export async function createGlobalNetwork(core: CnmCore, driver: NetworkDriver, req: Omit<NetworkCreate, 'driver'>): Promise<NetworkRecord> {
  const cluster = clusterOf(core, driver);
  if (req.ipv6) throw new InvalidArgumentError(`${driver.name} networks are IPv4 only`);
  const avoid = [...(await hostRoutes(core)), ...networkPools(core.state.networkList(), 'all')];
  const stored = await cluster.createNetwork(
    { name: req.name, driver: driver.name, internal: req.internal ?? false, options: { ...(req.options ?? {}) }, labels: { ...(req.labels ?? {}) } },
    (taken) =>
      poolRecord(
        core.deps.ipam.planPool({
          space: 'global',
          family: 4,
          avoid: [...avoid, ...takenReservations(taken)],
          ...(req.subnet !== undefined ? { subnet: req.subnet } : {}),
          ...(req.gateway !== undefined ? { gateway: req.gateway } : {}),
          ...(req.ipRange !== undefined ? { ipRange: req.ipRange } : {}),
          ...(req.auxAddresses !== undefined ? { auxAddresses: req.auxAddresses } : {}),
        }),
      ),
  );
  try {
    return await adoptGlobalNetwork(core, stored);
  } catch (err) {
    await cluster.removeNetwork({ ...stored, config: {}, owner: 'tsnet' }).catch(() => undefined);
    throw err;
  }
}

const takenReservations = (taken: readonly string[]): Reservation[] => taken.map((s) => ({ subnet: Subnet.parse(s), holder: `a global network (${s})` }));

/** Makes a network of the cluster store on this host (nothing when it is here already). */
export async function adoptGlobalNetwork(core: CnmCore, stored: GlobalNetwork): Promise<NetworkRecord> {
  const here = core.state.findNetwork(stored.id);
  if (here) return here;
  const clash = core.state.networkList().find((n) => n.name === stored.name);
  if (clash) throw new TsnetError('TSNET_ERR_NETWORK_EXISTS', `global network "${stored.name}" cannot be made here: a local network has its name`);
  const driver = core.driver(stored.driver);
  const pools = { ...(stored.pools.v4 ? { v4: { ...stored.pools.v4, external: true } } : {}) };
  const config = driver.configure({ id: stored.id, name: stored.name, options: stored.options }, core.state.networkList());
  const network: NetworkRecord = { ...stored, pools, config, owner: 'tsnet' };
  return UndoStack.run(async (undo) => {
    await driver.createNetwork(core.driverCtx, network);
    undo.push(`delete network ${network.name} in the kernel`, () => driver.deleteNetwork(core.driverCtx, network));
    core.deps.store.transaction(() => core.deps.store.putNetwork(network));
    core.state.putNetwork(network);
    return network;
  });
}

/** Removes from this host a global network the cluster store no longer has; refused while it has endpoints here. */
export async function forgetGlobalNetwork(core: CnmCore, id: string): Promise<void> {
  const network = core.state.findNetwork(id);
  if (!network) return;
  const endpoints = core.state.endpointsOf({ networkId: id });
  if (endpoints.length > 0) {
    throw new TsnetError(
      'TSNET_ERR_NETWORK_IN_USE',
      `network "${network.name}" went from the cluster store but has endpoints here: ${endpoints.map((e) => e.name).join(', ')}`,
    );
  }
  await core.driver(network.driver).deleteNetwork(core.driverCtx, network);
  core.deps.store.transaction(() => core.deps.store.delete('networks', id));
  core.state.dropNetwork(id);
}

/** The network's containers on other hosts, programmed into this host's kernel. */
export async function programRemotePeers(core: CnmCore, id: string, peers: readonly RemotePeer[]): Promise<void> {
  const network = core.state.findNetwork(id);
  if (!network) return;
  await core.driver(network.driver).remotePeers?.program(core.driverCtx, network, peers);
}

/** Whether a network lives in the cluster store. */
export const isGlobal = (core: CnmCore, network: NetworkRecord): boolean => core.driver(network.driver).capabilities.scope === 'global';
