/**
 * The kernel side of a bridge endpoint, in two sends: on the host, a veth pair created with its peer already inside
 * the sandbox (under its final name, so no move and no rename), put on the bridge, tagged, IPv6 address generation
 * off on the bridge port, up; in the sandbox, lo up, the address, the interface up, the default route. Many
 * endpoints at once take one send for all their host ends, then one a sandbox.
 */
import { addrAddRequest } from '../../netlink/addr.js';
import type { Handle, UniqueLink } from '../../netlink/handle.js';
import { linkAddRequest, linkSetRequest, type Link } from '../../netlink/link.js';
import { routeAddRequest } from '../../netlink/route.js';
import { settled, valueOf } from '../../lib/settled.js';
import type { NetlinkRequest } from '../../netlink/socket.js';
import type { NetNs } from '../../netns/netns.js';

export interface VethEndpointSpec {
  /** Name of the host end, on the bridge. */
  readonly hostName: string;
  /** Name of the sandbox end, e.g. "eth0". */
  readonly containerName: string;
  readonly bridgeIndex: number;
  /** The sandbox's namespace and a handle open inside it. */
  readonly sandbox: NetNs;
  readonly sandboxHandle: Handle;
  /** "10.1.0.2/24" */
  readonly address?: string;
  readonly gateway?: string;
  readonly mac?: string;
  readonly mtu?: number;
  /** IFLA_IFALIAS of the host end: tsnet's ownership tag. */
  readonly alias?: string;
  /** Bridge port hairpin mode on the host end. */
  readonly hairpin?: boolean;
  /** "fd00::2/64": IPv6 is then enabled on the interface (sandboxes start with it off) and the address added. */
  readonly ipv6Address?: string;
  readonly ipv6Gateway?: string;
}

export interface VethEndpoint {
  readonly hostIndex: number;
  readonly containerIndex: number;
}

export interface BridgePortSpec {
  readonly hostName: string;
  readonly peerName: string;
  /** Where the peer is created: a namespace fd, or (absent) the host namespace. */
  readonly peerNetnsFd?: number;
  readonly bridgeIndex: number;
  readonly mac?: string;
  readonly mtu?: number;
  readonly alias?: string;
  readonly hairpin?: boolean;
}

/**
 * A veth pair whose host end is a bridge port, as one creation and its finish: the pair on the bridge, then the host
 * end tagged, hairpin set, IPv6 address generation off and up, addressed by its name. hostName must be a name nobody
 * else can hold (the bridge driver's are derived from the endpoint's fresh random id).
 */
function bridgePortLink(spec: BridgePortSpec): UniqueLink {
  const create = linkAddRequest({
    kind: 'veth',
    name: spec.hostName,
    masterIndex: spec.bridgeIndex,
    ...(spec.mtu !== undefined ? { mtu: spec.mtu } : {}),
    peer: {
      name: spec.peerName,
      ...(spec.peerNetnsFd !== undefined ? { netns: { fd: spec.peerNetnsFd } } : {}),
      ...(spec.mac !== undefined ? { mac: spec.mac } : {}),
      ...(spec.mtu !== undefined ? { mtu: spec.mtu } : {}),
    },
  });
  const finish = linkSetRequest(spec.hostName, {
    ...(spec.alias !== undefined ? { alias: spec.alias } : {}),
    ...(spec.hairpin !== undefined ? { hairpin: spec.hairpin } : {}),
    ipv6AddrGenMode: 'none',
    up: true,
  });
  return { create, finish: [finish], name: spec.hostName };
}

/**
 * Makes a bridge port (see bridgePortLink) in one send. If a step after the creation fails, the pair is removed.
 * Returns the new host end as the kernel echoed it (undefined on kernels that do not echo).
 */
export function addBridgePort(host: Handle, spec: BridgePortSpec): Promise<Link | undefined> {
  const { create, finish, name } = bridgePortLink(spec);
  return host.linkCreateUnique(create, finish, name);
}

/** Creates the endpoint; on failure removes what it created (deleting the host end takes the pair). */
export async function attachVethEndpoint(host: Handle, spec: VethEndpointSpec): Promise<VethEndpoint> {
  return valueOf((await attachVethEndpoints(host, [spec]))[0]!);
}

/**
 * Creates many endpoints, each in a sandbox of its own: their host ends in one send (one round trip for all, as
 * many attaches at once are), then each sandbox's side. Each outcome is its own: an endpoint that fails is removed,
 * the others stay.
 */
export async function attachVethEndpoints(host: Handle, specs: readonly VethEndpointSpec[]): Promise<PromiseSettledResult<VethEndpoint>[]> {
  const created = await withNetnsFds(
    specs.map((s) => s.sandboxHandle),
    (fds) => host.linkCreateUniqueMany(specs.map((spec, i) => bridgePortLink(portOf(spec, fds[i]!)))),
  );
  const outcomes: PromiseSettledResult<VethEndpoint>[] = [];
  for (const [i, spec] of specs.entries()) {
    const c = created[i]!;
    if (c.status === 'rejected') outcomes.push(c);
    else outcomes.push(await settled(finishInSandbox(host, spec, c.value)));
  }
  return outcomes;
}

function portOf(spec: VethEndpointSpec, peerNetnsFd: number): BridgePortSpec {
  return {
    hostName: spec.hostName,
    peerName: spec.containerName,
    peerNetnsFd,
    bridgeIndex: spec.bridgeIndex,
    ...(spec.mac !== undefined ? { mac: spec.mac } : {}),
    ...(spec.mtu !== undefined ? { mtu: spec.mtu } : {}),
    ...(spec.alias !== undefined ? { alias: spec.alias } : {}),
    ...(spec.hairpin !== undefined ? { hairpin: spec.hairpin } : {}),
  };
}

/** Runs fn with a descriptor of each handle's namespace (for a veth's peer born there), all closed when it settles. */
function withNetnsFds<T>(handles: readonly Handle[], fn: (fds: number[]) => Promise<T>, fds: readonly number[] = []): Promise<T> {
  if (fds.length === handles.length) return fn([...fds]);
  return handles[fds.length]!.withNetnsFd((fd) => withNetnsFds(handles, fn, [...fds, fd]));
}

/** The sandbox's side of a created pair: lo up, the address, the interface up, the default route. */
async function finishInSandbox(host: Handle, spec: VethEndpointSpec, created: Link | undefined): Promise<VethEndpoint> {
  try {
    const containerIndex = created?.linkIndex ?? (await spec.sandboxHandle.linkGet(spec.containerName)).index;
    const inside: NetlinkRequest<unknown>[] = [linkSetRequest('lo', { up: true })];
    if (spec.address !== undefined) inside.push(addrAddRequest(containerIndex, spec.address, { broadcast: true }));
    if (spec.ipv6Address !== undefined) {
      spec.sandbox.sysctlWrite(`net/ipv6/conf/${spec.containerName}/disable_ipv6`, '0');
      inside.push(addrAddRequest(containerIndex, spec.ipv6Address, { noDad: true }));
    }
    inside.push(linkSetRequest(containerIndex, { up: true }));
    if (spec.gateway !== undefined) inside.push(routeAddRequest({ dst: 'default', gateway: spec.gateway, oif: containerIndex }));
    if (spec.ipv6Gateway !== undefined) inside.push(routeAddRequest({ dst: 'default', gateway: spec.ipv6Gateway, oif: containerIndex }));
    await spec.sandboxHandle.pipeline(inside);
    return { hostIndex: created?.index ?? (await host.linkGet(spec.hostName)).index, containerIndex };
  } catch (err) {
    await host.linkDelete(created?.index ?? spec.hostName).catch(() => undefined);
    throw err;
  }
}
