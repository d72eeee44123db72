/**
 * Network creation: the request is validated whole (name, driver, options, subnets against pools, the host's
 * routes and Docker's networks) before anything changes, then pools are taken, the driver makes the network, and
 * the record is committed; a failure undoes every step.
 */
import type { NetworkCreate } from '../../api/networks.js';
import { InvalidArgumentError, TsnetError } from '../../errors.js';
import type { NetworkDriver } from '../../drivers/driver.js';
import type { PoolConfig } from '../../ipam/pool.js';
import { Subnet, checkNoOverlap, parseAddress } from '../../ipam/subnet.js';
import { checkUsableSubnet } from '../../ipam/usable.js';
import { newId, type CnmCore } from '../core.js';
import { persistCursor, poolRecord } from '../pools.js';
import type { NetworkRecord, PoolRecord } from '../types.js';
import { UndoStack } from '../undo.js';
import { createGlobalNetwork } from './global.js';
import { hostRoutes, networkPools } from './subnets.js';

/** The API's create request; the controller takes any registered driver's name (the API lists the built-in ones). */
export type NetworkCreateRequest = Omit<NetworkCreate, 'driver'> & { readonly driver?: string };

/** Docker's networks: Docker's id, and the subnets Docker's IPAM allocated (recorded, not taken from tsnet's). */
export type DockerNetworkRequest = NetworkCreateRequest & {
  readonly id: string;
  readonly externalPools: { readonly v4?: ExternalPool; readonly v6?: ExternalPool };
};

export interface ExternalPool {
  readonly subnet: string;
  readonly gateway?: string;
}

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/u;

export async function createNetwork(core: CnmCore, req: NetworkCreateRequest, docker?: DockerNetworkRequest): Promise<NetworkRecord> {
  const driver = validateRequest(core, req, docker);
  if (driver.capabilities.scope === 'global' && !docker) return createGlobalNetwork(core, driver, req);
  const id = docker?.id ?? newId();
  const config = driver.configure({ id, name: req.name, options: req.options ?? {} }, core.state.networkList());
  const planned = docker ? undefined : await planPools(core, driver, req);
  const external = docker ? await externalPools(core, id, docker.externalPools) : undefined;
  const network: NetworkRecord = {
    id,
    name: req.name,
    driver: driver.name,
    created: new Date().toISOString(),
    internal: req.internal ?? false,
    ipv6: req.ipv6 ?? false,
    options: { ...(req.options ?? {}) },
    labels: { ...(req.labels ?? {}) },
    pools: external ?? { ...(planned?.v4 ? { v4: poolRecord(planned.v4) } : {}), ...(planned?.v6 ? { v6: poolRecord(planned.v6) } : {}) },
    config,
    owner: docker ? 'docker' : 'tsnet',
  };
  const pools = [planned?.v4, planned?.v6].filter((p): p is PoolConfig => !!p);
  return UndoStack.run(async (undo) => {
    for (const pool of pools) {
      core.deps.ipam.addPool(pool);
      undo.push(`release pool ${pool.subnet.toString()}`, () => core.deps.ipam.releasePool(pool.id));
    }
    await driver.createNetwork(core.driverCtx, network);
    undo.push(`delete network ${network.name} in the kernel`, () => driver.deleteNetwork(core.driverCtx, network));
    core.deps.store.transaction(() => {
      core.deps.store.putNetwork(network);
      for (const pool of pools) persistCursor(core, pool.id);
    });
    core.state.putNetwork(network);
    return network;
  });
}

function validateRequest(core: CnmCore, req: NetworkCreateRequest, docker?: DockerNetworkRequest): NetworkDriver {
  const networks = core.state.networkList();
  if (!NAME_RE.test(req.name))
    throw new InvalidArgumentError(`invalid network name "${req.name}": use letters, digits, "_", "." and "-", starting with a letter or digit`);
  if (networks.some((n) => n.name === req.name)) throw new TsnetError('TSNET_ERR_NETWORK_EXISTS', `network with name "${req.name}" already exists`);
  const driver = core.driver(req.driver ?? 'bridge');
  if (!driver.capabilities.multipleNetworks && networks.some((n) => n.driver === driver.name)) {
    throw new TsnetError('TSNET_ERR_CONFLICT', `only one network of the ${driver.name} driver may exist`);
  }
  if (docker && (!/^[0-9a-f]{64}$/u.test(docker.id) || core.state.findNetwork(docker.id))) {
    throw new InvalidArgumentError(`network id "${docker.id}" is not 64 hex digits, or is taken`);
  }
  if (req.ipv6 && !driver.capabilities.needsIpam) throw new InvalidArgumentError(`the ${driver.name} driver takes no IPv6 subnet`);
  if (!driver.capabilities.needsIpam && (req.subnet || req.gateway || req.ipRange)) {
    throw new InvalidArgumentError(`the ${driver.name} driver takes no subnet, gateway or ip range`);
  }
  if (!req.ipv6 && (req.subnet6 !== undefined || req.gateway6 !== undefined)) {
    throw new InvalidArgumentError('an IPv6 subnet or gateway needs IPv6 enabled (--ipv6)');
  }
  return driver;
}

/** The network's pools, planned (checked, not taken): automatic or explicit, avoiding every reservation. */
async function planPools(core: CnmCore, driver: NetworkDriver, req: NetworkCreateRequest): Promise<{ v4?: PoolConfig; v6?: PoolConfig }> {
  if (!driver.capabilities.needsIpam) return {};
  const avoid = [...(await hostRoutes(core)), ...networkPools(core.state.networkList(), 'external')];
  const v4 = core.deps.ipam.planPool({
    family: 4,
    avoid,
    ...(req.subnet !== undefined ? { subnet: req.subnet } : {}),
    ...(req.gateway !== undefined ? { gateway: req.gateway } : {}),
    ...(req.ipRange !== undefined ? { ipRange: req.ipRange } : {}),
    ...(req.auxAddresses !== undefined ? { auxAddresses: req.auxAddresses } : {}),
  });
  if (!req.ipv6) return { v4 };
  // Without a subnet, a free /64 of fd00::/8 (Docker 27's automatic IPv6 pools).
  const v6 = core.deps.ipam.planPool({
    family: 6,
    avoid,
    ...(req.subnet6 !== undefined ? { subnet: req.subnet6 } : {}),
    ...(req.gateway6 !== undefined ? { gateway: req.gateway6 } : {}),
  });
  return { v4, v6 };
}

/**
 * Pools Docker allocated: checked against every network's subnets (a pool of tsnet's IPAM with exactly this subnet
 * and no network is Docker's own request through the IPAM plugin, and fine).
 */
async function externalPools(core: CnmCore, id: string, ext: DockerNetworkRequest['externalPools']): Promise<NetworkRecord['pools']> {
  const out: { v4?: PoolRecord; v6?: PoolRecord } = {};
  const routes = await hostRoutes(core);
  for (const family of ['v4', 'v6'] as const) {
    const p = ext[family];
    if (!p) continue;
    // What Docker sends is checked as tsnet's own API input is.
    const subnet = Subnet.parse(p.subnet, { strict: true });
    if (subnet.family !== (family === 'v4' ? 4 : 6))
      throw new InvalidArgumentError(`subnet ${subnet.toString()} is not an IPv${family === 'v4' ? 4 : 6} subnet`);
    checkUsableSubnet(subnet);
    checkNoOverlap(subnet, [...networkPools(core.state.networkList(), 'all'), ...routes]);
    if (p.gateway) {
      const gw = parseAddress(p.gateway, 'gateway');
      if (!subnet.contains(gw) || gw.value === subnet.first || (subnet.family === 4 && gw.value === subnet.last)) {
        throw new InvalidArgumentError(`gateway ${p.gateway} is not a host address of the subnet ${subnet.toString()}`);
      }
    }
    out[family] = {
      id: `external:${id}:${family}`,
      space: 'local',
      subnet: subnet.toString(),
      ...(p.gateway ? { gateway: p.gateway } : {}),
      auxAddresses: {},
      external: true,
    };
  }
  return out;
}
