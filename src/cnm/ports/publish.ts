/**
 * Publishing ports through an endpoint: host ports checked against the bindings tsnet already holds (the holder
 * named), reserved in the kernel, recorded on the endpoint; and the firewall made to match, one batch per driver.
 */
import { Errno } from '../../native/errno.js';
import { TsnetError } from '../../errors.js';
import type { CnmCore } from '../core.js';
import type { EndpointRecord, NetworkRecord, PortBinding, PortSpec } from '../types.js';
import type { UndoStack } from '../undo.js';
import { clashes, expandPortSpecs, formatHostPort, type WantedBinding } from './specs.js';

/** Not among Node's errno constants. */
const ESOCKTNOSUPPORT = 94;

/** Docker's option for the default host address of a bridge network's published ports. */
export const HOST_BINDING_IPV4 = 'com.docker.network.bridge.host_binding_ipv4';

/** Who holds an endpoint's ports, in words. */
export function portOwner(core: CnmCore, e: EndpointRecord): string {
  if (e.kind === 'detached') return `Docker's endpoint ${e.name}`;
  const s = core.state.findSandbox(e.sandboxId)?.record;
  return `container ${s?.containerName ?? s?.containerId.slice(0, 12) ?? e.sandboxId.slice(0, 12)}`;
}

function inUse(what: string, holder: string | undefined): TsnetError {
  return new TsnetError('TSNET_ERR_PORT_IN_USE', `cannot publish host port ${what}: it is ${holder ? `held by ${holder}` : 'in use'}`);
}

/** Host ports to try for one binding: its own, the ones of its range, or 0 (the kernel's pick). */
const candidates = (w: WantedBinding, ephemeral: number | undefined): number[] => {
  if (w.hostPort === 0) return ephemeral !== undefined ? [ephemeral, 0] : [0];
  const end = w.hostPortEnd ?? w.hostPort;
  return Array.from({ length: end - w.hostPort + 1 }, (_, i) => w.hostPort + i);
};

/** Holds one binding's host port in the kernel: the first candidate that binds. */
function holdOne(core: CnmCore, endpointId: string, w: WantedBinding, taken: readonly PortBinding[], ephemeral: number | undefined): PortBinding {
  const { binder } = core.ports;
  let lastError: unknown;
  for (const port of candidates(w, ephemeral)) {
    const binding: PortBinding = { protocol: w.protocol, containerPort: w.containerPort, hostIp: w.hostIp, hostPort: port };
    const mine = taken.find((t) => clashes(t, binding));
    const other = mine ? undefined : core.state.endpointList().find((e) => e.ports?.some((p) => clashes(p, binding)));
    if (mine || other) {
      lastError = inUse(formatHostPort(binding), other ? portOwner(core, other) : 'another binding of the same container');
      continue;
    }
    try {
      const held = binder.hold(w.protocol, w.hostIp, port);
      core.ports.add(endpointId, held);
      return { ...binding, hostPort: held.port };
    } catch (err) {
      const errno = (err as { errno?: number }).errno;
      // SCTP may be missing from the kernel: the binding works without the reservation, as Docker's does.
      if (w.protocol === 'sctp' && (errno === Errno.EPROTONOSUPPORT || errno === ESOCKTNOSUPPORT)) return binding;
      lastError = errno === Errno.EADDRINUSE ? inUse(formatHostPort(binding), binder.holder(w.protocol, port)) : err;
    }
  }
  throw lastError;
}

/**
 * Reserves the host ports of specs for an endpoint on network; they are given back by undo if a later step fails.
 * Returns the bindings, with the ports the kernel picked for ephemeral ones (the same port for both families).
 */
export function reservePorts(
  core: CnmCore,
  network: NetworkRecord,
  endpoint: { id: string; ipv4?: string; ipv6?: string },
  specs: readonly PortSpec[],
  undo: UndoStack,
): PortBinding[] {
  const wanted = expandPortSpecs(specs, { v4: !!endpoint.ipv4, v6: !!endpoint.ipv6 }, network.options[HOST_BINDING_IPV4]);
  undo.push(`give back the host ports of endpoint ${endpoint.id.slice(0, 12)}`, () => core.ports.release(endpoint.id));
  const out: PortBinding[] = [];
  const ephemeral = new Map<string, number>();
  for (const w of wanted) {
    const key = `${w.protocol}/${w.containerPort}`;
    const b = holdOne(core, endpoint.id, w, out, w.hostPort === 0 ? ephemeral.get(key) : undefined);
    if (w.hostPort === 0) ephemeral.set(key, b.hostPort);
    out.push(b);
  }
  return out;
}

/** Re-holds the ports of endpoints restored from the store; what cannot be held is returned in words. */
export function rehold(core: CnmCore, endpoints: readonly EndpointRecord[]): string[] {
  const problems: string[] = [];
  for (const e of endpoints) {
    for (const p of e.ports ?? []) {
      try {
        core.ports.add(e.id, core.ports.binder.hold(p.protocol, p.hostIp, p.hostPort));
      } catch (err) {
        problems.push(`host port ${formatHostPort(p)} of ${portOwner(core, e)} cannot be held: ${(err as Error).message}`);
      }
    }
  }
  return problems;
}

/** Makes each driver's firewall match the published ports of the state, once per driver (one batch each). */
export async function refreshPorts(core: CnmCore, endpoints: readonly { networkId: string; ports?: readonly PortBinding[] }[]): Promise<void> {
  const seen = new Set<string>();
  for (const e of endpoints) {
    if (!e.ports?.length) continue;
    const network = core.state.findNetwork(e.networkId);
    if (!network || seen.has(network.driver)) continue;
    seen.add(network.driver);
    await core.driver(network.driver).programExternalConnectivity(core.driverCtx, network);
  }
}

/** The endpoint's ports in the firewall, with it in memory; both undone if a later step fails. */
export async function programPorts(core: CnmCore, endpoint: EndpointRecord, undo: UndoStack): Promise<void> {
  const before = core.state.findEndpoint(endpoint.id);
  core.state.putEndpoint(endpoint);
  undo.push(`remove the published ports of endpoint ${endpoint.name}`, async () => {
    if (before) core.state.putEndpoint(before);
    else core.state.dropEndpoint(endpoint.id);
    await refreshPorts(core, [endpoint]);
  });
  await refreshPorts(core, [endpoint]);
}
