/** Which endpoint carries a sandbox's default route: the earliest joined whose network has a gateway. */
import type { CnmCore } from '../core.js';
import type { LiveSandbox } from '../state.js';
import type { JoinedEndpoint } from '../types.js';

/** Whether the endpoint's network gives its sandboxes a default route. */
export function providesGateway(core: CnmCore, e: JoinedEndpoint): boolean {
  const n = core.state.findNetwork(e.networkId);
  return !!n && !n.internal && !!n.pools.v4?.gateway && !!e.ifname;
}

/** The endpoint that carries the sandbox's default route, if any. */
export function gatewayEndpoint(core: CnmCore, sandboxId: string): JoinedEndpoint | undefined {
  return core.state.joinedTo(sandboxId).find((e) => providesGateway(core, e));
}

/** Points the sandbox's default route at the endpoint that should carry it now, if any. */
export async function moveDefaultRoute(core: CnmCore, sandbox: LiveSandbox): Promise<void> {
  const next = gatewayEndpoint(core, sandbox.record.id);
  if (!next) return; // the route went with the interface that carried it
  const network = core.network(next.networkId);
  const link = await sandbox.handle.linkGet(next.ifname!);
  await sandbox.handle.routeReplace({ dst: 'default', gateway: network.pools.v4!.gateway!, oif: link.index });
}
