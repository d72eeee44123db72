/**
 * Docker's side of the controller, for the remote network and IPAM plugin: the pools Docker requests from tsnet's
 * IPAM (reference-counted, persisted), their addresses, and Docker's detached endpoints (both veth ends in the host
 * namespace, for dockerd to move). The plugin only translates the protocol into these calls.
 *
 * Durability: what a reboot wipes anyway is committed volatile (it survives a crash of tsnet, not a power loss):
 * Docker's endpoints and their published ports, and a container's own address. What outlives a reboot is synced
 * before it is acknowledged: the pools, the gateway and auxiliary addresses (held as long as their network), and
 * every release (a release lost would leak its address, since dockerd never asks again).
 */
import { InvalidArgumentError, TsnetError } from '../errors.js';
import { Subnet, addressOf, onSubnet, parseAddress } from '../ipam/subnet.js';
import type { CnmCore } from './core.js';
import { forgetEndpoint } from './endpoint/addresses.js';
import { hostRoutes, networkPools } from './network/subnets.js';
import { persistAddress, persistCursor } from './pools.js';
import { programPorts, refreshPorts, reservePorts } from './ports/publish.js';
import { checkPortSpecs } from './ports/specs.js';
import type { DetachedEndpoint, DockerPoolRecord, EndpointBase, PortSpec } from './types.js';
import { UndoStack } from './undo.js';

export interface DockerPoolRequest {
  readonly space: 'local' | 'global';
  /** Explicit subnet; without it a free one is cut from the default pools. */
  readonly subnet?: string;
  readonly ipRange?: string;
  readonly v6: boolean;
}

/** A pool for Docker; an identical explicit request gets the same pool, one reference more. */
export async function requestDockerPool(core: CnmCore, req: DockerPoolRequest): Promise<DockerPoolRecord> {
  const { store, ipam } = core.deps;
  if (!req.subnet && req.ipRange) throw new InvalidArgumentError('an ip range (SubPool) needs a subnet (Pool)');
  const same = req.subnet
    ? store.dockerPools().find((p) => p.subnet === req.subnet && (p.ipRange ?? '') === (req.ipRange ?? '') && p.space === req.space)
    : undefined;
  if (same) {
    const counted = { ...same, references: same.references + 1 };
    store.putDockerPool(counted);
    return counted;
  }
  // Docker's networks hold their subnets outside IPAM; one with exactly the requested subnet is this pool's own.
  const external = networkPools(core.state.networkList(), 'external').filter((r) => !req.subnet || r.subnet.toString() !== Subnet.parse(req.subnet).toString());
  const avoid = [...(req.subnet ? [] : await hostRoutes(core)), ...external];
  const config = ipam.planPool({
    space: req.space,
    family: req.v6 ? 6 : 4,
    gateway: null,
    avoid,
    ...(req.subnet ? { subnet: req.subnet } : {}),
    ...(req.ipRange ? { ipRange: req.ipRange } : {}),
  });
  const pool = ipam.addPool(config);
  const record: DockerPoolRecord = {
    id: pool.id,
    space: req.space,
    subnet: config.subnet.toString(),
    ...(req.ipRange ? { ipRange: config.range.toString() } : {}),
    references: 1,
  };
  try {
    store.transaction(() => {
      store.putDockerPool(record);
      persistCursor(core, pool.id);
    });
  } catch (err) {
    ipam.releasePool(pool.id);
    throw err;
  }
  return record;
}

/** One reference less; the last one releases the pool. Releasing an unknown pool is done already. */
export function releaseDockerPool(core: CnmCore, id: string): void {
  const { store, ipam } = core.deps;
  const record = store.dockerPools().find((p) => p.id === id);
  if (!record) return;
  if (record.references > 1) return store.putDockerPool({ ...record, references: record.references - 1 });
  store.transaction(() => store.deleteDockerPool(id));
  ipam.releasePool(id);
}

/**
 * Who holds a Docker address: a container, for its endpoint (it goes with the container, and a reboot ends every
 * container), or the network (its gateway, an auxiliary address, or one asked for by value, which may be either).
 */
export type DockerAddressHolder = 'container' | 'network';

/** An address of a Docker pool, as "10.1.0.2/24". */
export function requestDockerAddress(core: CnmCore, poolId: string, wanted?: string, holder: DockerAddressHolder = 'network'): string {
  const pool = core.deps.ipam.pool(poolId);
  const address = pool.allocate(wanted);
  try {
    core.deps.store.transaction(() => persistAddress(core, poolId, address), holder === 'container' ? 'volatile' : 'durable');
  } catch (err) {
    pool.release(address);
    throw err;
  }
  return onSubnet(address, pool.config.subnet);
}

/** Gives an address back; one not handed out (or of an unknown pool) is released already. */
export function releaseDockerAddress(core: CnmCore, poolId: string, cidr: string): void {
  const address = addressOf(cidr);
  if (!core.deps.store.dockerPools().some((p) => p.id === poolId)) return;
  const pool = core.deps.ipam.pool(poolId);
  if (!pool.isAllocated(address)) return;
  core.deps.store.transaction(() => core.deps.store.removeAddress(poolId, address));
  pool.release(address);
}

/** Docker's endpoint: a veth pair whole in the host namespace, on the network's bridge. Idempotent by id. */
export async function createDetachedEndpoint(core: CnmCore, networkRef: string, base: EndpointBase): Promise<DetachedEndpoint> {
  const existing = core.state.findEndpoint(base.id);
  if (existing?.kind === 'detached') return existing;
  if (existing) throw new TsnetError('TSNET_ERR_CONFLICT', `endpoint ${base.id.slice(0, 12)} exists and is joined to a sandbox of tsnet's`);
  const network = core.network(networkRef);
  const driver = core.driver(network.driver);
  if (!driver.detachedEndpoints) throw new InvalidArgumentError(`the ${driver.name} driver makes no endpoints for Docker`);
  checkEndpointAddress(base.ipv4, network.pools.v4?.subnet, network.pools.v4?.gateway, 'IPv4');
  checkEndpointAddress(base.ipv6, network.pools.v6?.subnet, network.pools.v6?.gateway, 'IPv6');
  const filled = driver.createEndpoint(network, { ...base, networkId: network.id });
  const names = await driver.detachedEndpoints.create(core.driverCtx, network, filled);
  const endpoint: DetachedEndpoint = { ...filled, ...names, kind: 'detached' };
  try {
    core.deps.store.transaction(() => core.deps.store.putEndpoint(endpoint), 'volatile');
  } catch (err) {
    await driver.leave(core.driverCtx, [{ network, endpoint, sandbox: undefined }]);
    throw err;
  }
  core.state.putEndpoint(endpoint);
  return endpoint;
}

/** Docker's endpoint address: a host address of the network's subnet, with its prefix length, not the gateway. */
function checkEndpointAddress(cidr: string | undefined, subnetText: string | undefined, gateway: string | undefined, what: string): void {
  if (!cidr) return;
  if (!subnetText) throw new InvalidArgumentError(`the network has no ${what} subnet for address ${cidr}`);
  const subnet = Subnet.parse(subnetText);
  const ip = parseAddress(addressOf(cidr), `${what} address`);
  const given = Subnet.parse(cidr.includes('/') ? cidr : `${cidr}/${subnet.prefixLen}`, { what: `${what} address` });
  const edge = ip.value === subnet.first || (subnet.family === 4 && ip.value === subnet.last);
  if (!subnet.contains(ip) || given.prefixLen !== subnet.prefixLen || edge || addressOf(cidr) === gateway) {
    throw new InvalidArgumentError(`${what} address ${cidr} is not a free host address of the network's subnet ${subnetText}`);
  }
}

/**
 * Deletes Docker's endpoint by its host end only: that takes the pair, wherever dockerd has put the other end by now
 * (it may be moving it between namespaces at this very moment). Deleting an unknown endpoint is done already.
 */
export async function deleteDetachedEndpoint(core: CnmCore, id: string): Promise<void> {
  const endpoint = core.state.findEndpoint(id);
  if (endpoint?.kind !== 'detached') return;
  const network = core.network(endpoint.networkId);
  await core.driver(network.driver).leave(core.driverCtx, [{ network, endpoint, sandbox: undefined }]);
  core.deps.store.transaction(() => forgetEndpoint(core, endpoint), 'volatile');
  core.state.dropEndpoint(endpoint.id);
  core.ports.release(endpoint.id);
  await refreshPorts(core, [endpoint]);
}

/**
 * ProgramExternalConnectivity: Docker's port map published through its endpoint (the container's gateway). Called
 * again with the same map, it changes nothing.
 */
export async function programDockerPorts(core: CnmCore, id: string, specs: readonly PortSpec[]): Promise<void> {
  const endpoint = core.state.findEndpoint(id);
  if (endpoint?.kind !== 'detached') throw new TsnetError('TSNET_ERR_ENDPOINT_NOT_FOUND', `endpoint ${id.slice(0, 12)} does not exist`);
  checkPortSpecs(specs);
  if (endpoint.ports?.length || specs.length === 0) return;
  await UndoStack.run(async (undo) => {
    const published: DetachedEndpoint = { ...endpoint, ports: reservePorts(core, core.network(endpoint.networkId), endpoint, specs, undo) };
    await programPorts(core, published, undo);
    core.deps.store.transaction(() => core.deps.store.putEndpoint(published), 'volatile');
  });
}

/** RevokeExternalConnectivity: the endpoint's published ports go; an endpoint without any (or gone) is done already. */
export async function revokeDockerPorts(core: CnmCore, id: string): Promise<void> {
  const endpoint = core.state.findEndpoint(id);
  if (endpoint?.kind !== 'detached' || !endpoint.ports?.length) return;
  const { ports: _gone, ...rest } = endpoint;
  const revoked: DetachedEndpoint = rest;
  core.deps.store.transaction(() => core.deps.store.putEndpoint(revoked), 'volatile');
  core.state.putEndpoint(revoked);
  await refreshPorts(core, [endpoint]);
  core.ports.release(id);
}
