/**
 * Connecting a sandbox to a network (`docker network connect`): an endpoint created, its addresses taken, joined
 * by the driver, then recorded; and disconnecting, where the default route moves if it was this endpoint's.
 */
import { InvalidArgumentError, TsnetError } from '../../errors.js';
import type { JoinRequest, JoinResult, NetworkDriver } from '../../drivers/driver.js';
import { newId, sandboxView, type CnmCore } from '../core.js';
import { writeSandboxFiles } from '../sandbox/hosts.js';
import type { LiveSandbox } from '../state.js';
import type { EndpointBase, EndpointRecord, JoinedEndpoint, NetworkRecord, PortBinding } from '../types.js';
import { UndoStack } from '../undo.js';
import { forgetEndpoint, persistAddresses, releaseEndpoint, takeAddresses } from './addresses.js';
import { gatewayEndpoint, moveDefaultRoute, providesGateway } from './gateway.js';
import { leaveAll } from './leave.js';
import { programPorts, refreshPorts, reservePorts } from '../ports/publish.js';

export interface ConnectRequest {
  readonly ip?: string;
  readonly ip6?: string;
  readonly aliases?: readonly string[];
  /** --mac-address: a unicast MAC, else the driver's (02:42 and the IPv4 address). */
  readonly mac?: string;
}

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/iu;
const ALIAS_RE = /^[a-zA-Z0-9]([a-zA-Z0-9_.-]{0,62})$/u;

/** The lowest PREFIXN (ethN by default) not used by the sandbox's endpoints. */
export function nextIfname(joined: readonly JoinedEndpoint[], prefix = 'eth'): string {
  const used = new Set(joined.map((e) => e.ifname));
  for (let i = 0; ; i++) if (!used.has(`${prefix}${i}`)) return `${prefix}${i}`;
}

function validate(core: CnmCore, network: NetworkRecord, sandbox: LiveSandbox, driver: NetworkDriver, req: ConnectRequest): void {
  const joined = core.state.joinedTo(sandbox.record.id);
  if (joined.some((e) => e.networkId === network.id)) {
    throw new TsnetError('TSNET_ERR_CONFLICT', `sandbox ${sandbox.record.id.slice(0, 12)} is already connected to network "${network.name}"`);
  }
  if (driver.capabilities.hostNamespace !== core.inHostNamespace(sandbox)) {
    throw new InvalidArgumentError(
      driver.capabilities.hostNamespace
        ? `network "${network.name}" (host driver) needs a sandbox in the host's namespace`
        : `a sandbox in the host's namespace cannot join network "${network.name}" (${network.driver} driver)`,
    );
  }
  if (network.owner === 'docker') {
    throw new TsnetError('TSNET_ERR_CONFLICT', `network "${network.name}" belongs to Docker: connect containers to it with docker network connect`);
  }
  if ((req.ip || req.ip6) && !driver.capabilities.needsIpam) throw new InvalidArgumentError(`the ${driver.name} driver takes no address`);
  if (req.ip6 && !network.pools.v6) throw new InvalidArgumentError(`network "${network.name}" has no IPv6 subnet`);
  if (req.mac !== undefined && (!MAC_RE.test(req.mac) || (parseInt(req.mac.slice(0, 2), 16) & 1) === 1)) {
    throw new InvalidArgumentError(`invalid MAC address "${req.mac}": six hex bytes, unicast`);
  }
  for (const a of req.aliases ?? []) if (!ALIAS_RE.test(a)) throw new InvalidArgumentError(`invalid network alias "${a}"`);
}

/** A connect checked and ready to join: its addresses taken and its ports reserved, undone by its undo stack. */
export interface PreparedConnect {
  readonly network: NetworkRecord;
  readonly sandbox: LiveSandbox;
  readonly driver: NetworkDriver;
  readonly base: EndpointBase;
  readonly ifname: string;
  readonly defaultRoute: boolean;
  readonly ports: PortBinding[];
  readonly undo: UndoStack;
}

/** Checks the request, then takes the endpoint's addresses and host ports (pushing how to give them back). */
export async function prepareConnect(
  core: CnmCore,
  network: NetworkRecord,
  sandbox: LiveSandbox,
  req: ConnectRequest,
  undo: UndoStack,
): Promise<PreparedConnect> {
  const driver = core.driver(network.driver);
  validate(core, network, sandbox, driver, req);
  const joined = core.state.joinedTo(sandbox.record.id);
  const id = newId();
  const addresses = await takeAddresses(core, network, id, req, undo);
  const base = driver.createEndpoint(network, {
    id,
    name: `${sandbox.record.containerId.slice(0, 12)}-${network.name}`,
    networkId: network.id,
    created: new Date().toISOString(),
    ...addresses,
    ...(req.mac !== undefined ? { mac: req.mac.toLowerCase() } : {}),
    aliases: [...(req.aliases ?? [])],
  });
  const ifname = nextIfname(joined, driver.interfacePrefix?.(network));
  const defaultRoute = !joined.some((e) => providesGateway(core, e));
  const publish = sandbox.record.publish ?? [];
  // The sandbox's published ports go with the endpoint that carries its gateway, as Docker's do.
  const ports = publish.length > 0 && defaultRoute && hasGateway(network) ? reservePorts(core, network, base, publish, undo) : [];
  return { network, sandbox, driver, base, ifname, defaultRoute, ports, undo };
}

export const joinRequest = (p: PreparedConnect): JoinRequest => ({
  network: p.network,
  endpoint: p.base,
  sandbox: sandboxView(p.sandbox),
  ifname: p.ifname,
  defaultRoute: p.defaultRoute,
});

/** The joined endpoint, its interfaces made by the driver: undone by removing them; its published ports programmed. */
export async function completeConnect(core: CnmCore, p: PreparedConnect, result: JoinResult): Promise<JoinedEndpoint> {
  const endpoint: JoinedEndpoint = {
    ...p.base,
    ...result,
    ...(p.ports.length ? { ports: p.ports } : {}),
    kind: 'joined',
    sandboxId: p.sandbox.record.id,
    joinSeq: core.state.nextJoinSeq(),
  };
  const view = sandboxView(p.sandbox);
  p.undo.push(`remove the interfaces of endpoint ${endpoint.name}`, () => p.driver.leave(core.driverCtx, [{ network: p.network, endpoint, sandbox: view }]));
  if (p.ports.length) await programPorts(core, endpoint, p.undo);
  return endpoint;
}

/** Records joined endpoints in one store transaction, then in memory. */
export function recordConnects(core: CnmCore, done: readonly { prepared: PreparedConnect; endpoint: JoinedEndpoint }[]): void {
  // Volatile: an endpoint of a sandbox in /run does not outlive a reboot anyway.
  core.deps.store.transaction(() => {
    for (const { prepared, endpoint } of done) {
      core.deps.store.putEndpoint(endpoint);
      persistAddresses(core, prepared.network, endpoint);
    }
  }, 'volatile');
  for (const { endpoint } of done) core.state.putEndpoint(endpoint);
}

export async function disconnect(core: CnmCore, network: NetworkRecord, sandbox: LiveSandbox): Promise<void> {
  const endpoint = core.state.joinedTo(sandbox.record.id).find((e) => e.networkId === network.id);
  if (!endpoint)
    throw new TsnetError('TSNET_ERR_ENDPOINT_NOT_FOUND', `sandbox ${sandbox.record.id.slice(0, 12)} is not connected to network "${network.name}"`);
  const wasGateway = gatewayEndpoint(core, sandbox.record.id)?.id === endpoint.id;
  await leaveAll(core, [endpoint]);
  dropEndpoints(core, [endpoint]);
  if (wasGateway) await moveDefaultRoute(core, sandbox);
  // One firewall batch: ports that move to the next gateway replace those of the endpoint that left in it.
  let moved = false;
  try {
    if (wasGateway) moved = await movePorts(core, sandbox);
  } finally {
    if (!moved) await refreshPorts(core, [endpoint]);
  }
  writeSandboxFiles(core, sandbox);
}

/** A network whose endpoints get a default route through it. */
const hasGateway = (network: NetworkRecord): boolean => !network.internal && !!network.pools.v4?.gateway;

/** After the gateway moved: the sandbox's published ports go with it to the endpoint that carries it now; whether they did. */
async function movePorts(core: CnmCore, sandbox: LiveSandbox): Promise<boolean> {
  const next = gatewayEndpoint(core, sandbox.record.id);
  const publish = sandbox.record.publish ?? [];
  if (!next || publish.length === 0 || next.ports?.length) return false;
  return UndoStack.run(async (undo) => {
    const moved: JoinedEndpoint = { ...next, ports: reservePorts(core, core.network(next.networkId), next, publish, undo) };
    undo.push(`restore endpoint ${next.name}`, () => core.state.putEndpoint(next));
    await programPorts(core, moved, undo);
    core.deps.store.transaction(() => core.deps.store.putEndpoint(moved), 'volatile');
    return true;
  });
}

/** Forgets endpoints whose kernel side is gone: records and address rows in one transaction, then memory. */
export function dropEndpoints(core: CnmCore, endpoints: readonly EndpointRecord[]): void {
  core.deps.store.transaction(() => {
    for (const e of endpoints) forgetEndpoint(core, e);
  }, 'volatile');
  for (const e of endpoints) releaseEndpoint(core, e);
}
