/**
 * The bridge driver: a Linux bridge per network holding the gateway address, and per endpoint a veth pair whose
 * peer is created directly inside the sandbox. Firewall rules are per network, for all bridge networks in one batch.
 */
import { createHash } from 'node:crypto';
import { TsnetError } from '../../errors.js';
import { addrAddRequest } from '../../netlink/addr.js';
import { Errno } from '../../native/errno.js';
import { NetlinkError } from '../../netlink/errors.js';
import { allRejected, valueOf } from '../../lib/settled.js';
import type { ConfigureInput, DetachedEndpoints, DriverContext, JoinRequest, JoinResult, LeaveRequest, NetworkDriver, PresenceRequest } from '../driver.js';
import { addressOf, onSubnet } from '../../ipam/subnet.js';
import { ownerTag, type EndpointBase, type NetworkRecord } from '../records.js';
import { applyFirewall, enableForwarding, firewallNetworks, isBridgeNetwork } from './firewall.js';
import { parseBridgeOptions, type BridgeConfig } from './options.js';
import { addBridgePort, attachVethEndpoints, type VethEndpoint, type VethEndpointSpec } from './veth-endpoint.js';
import type { Link } from '../../netlink/link.js';

export const bridgeAlias = (networkId: string): string => ownerTag('network', networkId);
export const endpointAlias = (endpointId: string): string => ownerTag('endpoint', endpointId);

/**
 * The host end of an endpoint's veth: "veth" and 11 hex digits of a hash of the whole endpoint id, so that ids
 * sharing a prefix (or carrying odd bytes) never give two endpoints one name.
 */
export const hostEndName = (endpointId: string): string => `veth${createHash('sha256').update(endpointId).digest('hex').slice(0, 11)}`;

/** A name held by an interface tsnet did not make (or made for something else) is refused, naming the holder. */
async function checkNameFree(ctx: DriverContext, name: string, tag: string): Promise<void> {
  const holder = await ctx.host.linkFind(name);
  if (holder && holder.alias !== tag) {
    const whose = holder.alias?.startsWith('tsnet:') ? `tsnet's ${holder.alias}` : 'an interface tsnet did not create';
    throw new TsnetError('TSNET_ERR_CONFLICT', `the name "${name}" is taken by ${whose} (${holder.kind ?? 'link'} ${holder.index})`);
  }
}

/**
 * What to say of a failed creation: refused with EEXIST, a conflict that names the holder (when it is the host
 * end's name); anything else as it is.
 */
async function explained(ctx: DriverContext, name: string, tag: string, err: unknown): Promise<unknown> {
  if (!(err instanceof NetlinkError && err.errno === Errno.EEXIST)) return err;
  try {
    await checkNameFree(ctx, name, tag);
  } catch (holder) {
    return holder;
  }
  return new TsnetError('TSNET_ERR_CONFLICT', `cannot create ${name}: ${err.message}`);
}

async function explainTaken<T>(ctx: DriverContext, name: string, tag: string, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    throw await explained(ctx, name, tag, err);
  }
}

/** The veth endpoint that joins req's sandbox to the bridge at bridgeIndex. */
function vethSpec(cfg: BridgeConfig, req: JoinRequest<BridgeConfig>, bridgeIndex: number): VethEndpointSpec {
  const { network, endpoint } = req;
  const routed = req.defaultRoute && !network.internal;
  return {
    hostName: hostEndName(endpoint.id),
    containerName: req.ifname,
    bridgeIndex,
    sandbox: req.sandbox.ns,
    sandboxHandle: req.sandbox.handle,
    alias: endpointAlias(endpoint.id),
    hairpin: true,
    ...(cfg.mtu !== undefined ? { mtu: cfg.mtu } : {}),
    ...(endpoint.mac !== undefined ? { mac: endpoint.mac } : {}),
    ...(endpoint.ipv4 !== undefined ? { address: endpoint.ipv4 } : {}),
    ...(endpoint.ipv6 !== undefined ? { ipv6Address: endpoint.ipv6 } : {}),
    ...(routed && network.pools.v4?.gateway ? { gateway: network.pools.v4.gateway } : {}),
    ...(routed && endpoint.ipv6 && network.pools.v6?.gateway ? { ipv6Gateway: network.pools.v6.gateway } : {}),
  };
}

/**
 * The bridge's own MAC, fixed at creation: a bridge without one takes the lowest of its ports', so the gateway's
 * MAC would change whenever that container left, and every other container would lose the gateway (and the
 * resolver on it) until its ARP entry expired. Locally administered, from the network id.
 */
export function bridgeMac(networkId: string): string {
  const bytes = createHash('sha256').update(`bridge:${networkId}`).digest().subarray(0, 5);
  return ['02', ...[...bytes].map((b) => b.toString(16).padStart(2, '0'))].join(':');
}

/** Docker's MAC for an IPv4 address: 02:42 followed by the address's four bytes. */
export function macFromIpv4(cidr: string): string {
  const octets = addressOf(cidr)
    .split('.')
    .map((o) => Number(o).toString(16).padStart(2, '0'));
  return ['02', '42', ...octets].join(':');
}

type BridgeNetwork = NetworkRecord<BridgeConfig>;

function bridgeOf(network: BridgeNetwork): BridgeConfig {
  if (!network.config.bridgeName) throw new TsnetError('TSNET_ERR_INTERNAL', `network ${network.name} has no bridge configuration`);
  return network.config;
}

/** Every bridge network but this one, for the firewall. */
const othersThan = (ctx: DriverContext, network: NetworkRecord): NetworkRecord[] => ctx.networks().filter((n) => isBridgeNetwork(n) && n.id !== network.id);

export class BridgeDriver implements NetworkDriver<BridgeConfig> {
  readonly name = 'bridge' as const;
  readonly capabilities = { scope: 'local', needsIpam: true, hostNamespace: false, multipleNetworks: true } as const;
  readonly detachedEndpoints: DetachedEndpoints<BridgeConfig> = {
    create: (ctx, network, endpoint) => this.createDetachedEndpoint(ctx, network, endpoint),
    present: async (ctx, endpoint) => (await ctx.host.linkFind(endpoint.hostIfname))?.alias === endpointAlias(endpoint.id),
  };
  /** The bridges' indexes by name, as this driver made or found them: an attach need not ask the kernel each time. */
  private readonly bridgeIndexes = new Map<string, number>();

  /**
   * Runs attach with the bridge's index: the one known, else looked up by name. If a known index fails (the bridge
   * was made again, outside this driver), it is forgotten and attach runs once more with the index looked up. An
   * attach fails when it throws, or when its result is failed by `failed` (many endpoints, all refused).
   */
  private async onBridge<T>(ctx: DriverContext, bridgeName: string, attach: (index: number) => Promise<T>, failed = (_: T) => false): Promise<T> {
    const known = this.bridgeIndexes.get(bridgeName);
    if (known !== undefined) {
      const attached = await attach(known).then(
        (result) => ({ result }),
        () => undefined,
      );
      if (attached && !failed(attached.result)) return attached.result;
      this.bridgeIndexes.delete(bridgeName);
    }
    const index = (await ctx.host.linkGet(bridgeName)).index;
    const result = await attach(index);
    if (!failed(result)) this.bridgeIndexes.set(bridgeName, index);
    return result;
  }

  configure(input: ConfigureInput, existing: readonly NetworkRecord[]): BridgeConfig {
    return parseBridgeOptions(input.id, input.options, existing);
  }

  /** The bridge, then forwarding and the firewall of all bridge networks with this one; the bridge goes if they fail. */
  async createNetwork(ctx: DriverContext, network: BridgeNetwork): Promise<void> {
    const index = await this.createBridge(ctx, network);
    try {
      enableForwarding(ctx, network);
      await applyFirewall(ctx, [...othersThan(ctx, network), network]);
    } catch (err) {
      await ctx.host.linkDelete(index).catch(() => undefined);
      throw err;
    }
  }

  /** Equivalent to: ip link add BR type bridge; ip addr add GW/LEN dev BR; ip link set BR up */
  private async createBridge(ctx: DriverContext, network: BridgeNetwork): Promise<number> {
    await checkNameFree(ctx, bridgeOf(network).bridgeName, bridgeAlias(network.id));
    const cfg = bridgeOf(network);
    const bridge = await ctx.host.linkAdd({
      kind: 'bridge',
      name: cfg.bridgeName,
      alias: bridgeAlias(network.id),
      mac: bridgeMac(network.id),
      ...(cfg.mtu !== undefined ? { mtu: cfg.mtu } : {}),
    });
    try {
      const requests = [];
      for (const pool of [network.pools.v4, network.pools.v6]) {
        if (pool?.gateway && !(pool === network.pools.v4 && cfg.inhibitIpv4))
          requests.push(addrAddRequest(bridge.index, onSubnet(pool.gateway, pool.subnet), { broadcast: true, noDad: true }));
      }
      await ctx.host.pipeline(requests);
      await ctx.host.linkSet(bridge.index, { up: true, ipv6AddrGenMode: network.ipv6 ? 'eui64' : 'none' });
      this.bridgeIndexes.set(cfg.bridgeName, bridge.index);
      return bridge.index;
    } catch (err) {
      await ctx.host.linkDelete(bridge.index).catch(() => undefined);
      throw err;
    }
  }

  /**
   * The bridge and the network's firewall rules go side by side: the kernel takes a bridge out of its namespace in
   * some 10-15 ms (RCU grace periods), the rules' one nf_tables transaction 1.5 ms of it. If the bridge stays, so do
   * its rules.
   */
  async deleteNetwork(ctx: DriverContext, network: BridgeNetwork): Promise<void> {
    this.bridgeIndexes.delete(bridgeOf(network).bridgeName);
    const [bridge, rules] = await Promise.allSettled([this.deleteBridge(ctx, network), applyFirewall(ctx, othersThan(ctx, network))]);
    if (bridge.status === 'rejected') {
      // Should putting them back fail too, the daemon's periodic firewall check restores them; the caller hears why
      // the bridge stayed.
      await applyFirewall(ctx, ctx.networks().filter(isBridgeNetwork)).catch(() => undefined);
      throw bridge.reason;
    }
    if (rules.status === 'rejected') throw rules.reason;
  }

  private async deleteBridge(ctx: DriverContext, network: BridgeNetwork): Promise<void> {
    const bridge = await ctx.host.linkFind(bridgeOf(network).bridgeName);
    // Gone already counts as deleted; a link of that name without this network's tag is not this network's bridge.
    if (bridge?.alias !== bridgeAlias(network.id)) return;
    try {
      // Done once the bridge is out of the namespace: the kernel frees it in the background (see linkDeleteUnlisted).
      await ctx.host.linkDeleteUnlisted(bridge.index);
    } catch (err) {
      if (!(err instanceof NetlinkError && err.errno === Errno.ENODEV)) throw err;
    }
  }

  /** The firewall rules and forwarding the networks need that the kernel lacks (someone flushed them). */
  async verify(ctx: DriverContext): Promise<string[]> {
    if (!ctx.firewall) return [];
    // The firewall is one for every network on a bridge, overlay networks' too: this driver checks them all.
    const all = ctx.networks().filter(isBridgeNetwork);
    const problems = await ctx.firewall.missing(firewallNetworks(ctx, all));
    if (all.some((n) => !n.internal) && ctx.hostNs.sysctlRead('net/ipv4/ip_forward') !== '1') problems.push('IP forwarding is off');
    return problems;
  }

  interfacePrefix(network: BridgeNetwork): string {
    return network.config.ifacePrefix ?? 'eth';
  }

  async restore(ctx: DriverContext): Promise<void> {
    const all = ctx.networks().filter(isBridgeNetwork);
    for (const n of all) enableForwarding(ctx, n);
    await applyFirewall(ctx, all);
  }

  async networkPresent(ctx: DriverContext, network: BridgeNetwork): Promise<boolean> {
    const link = await ctx.host.linkFind(bridgeOf(network).bridgeName);
    return link?.alias === bridgeAlias(network.id);
  }

  /** The host end exists, carries the endpoint's tag and sits on the network's bridge; the peer is in the sandbox. */
  async endpointPresent(ctx: DriverContext, req: PresenceRequest<BridgeConfig>): Promise<boolean> {
    if (!req.endpoint.hostIfname) return false;
    const [hostEnd, bridge, inside] = await Promise.all([
      ctx.host.linkFind(req.endpoint.hostIfname),
      ctx.host.linkFind(bridgeOf(req.network).bridgeName),
      req.sandbox.handle.linkFind(req.ifname),
    ]);
    return !!hostEnd && !!bridge && !!inside && hostEnd.alias === endpointAlias(req.endpoint.id) && hostEnd.masterIndex === bridge.index;
  }

  createEndpoint(_network: BridgeNetwork, endpoint: EndpointBase): EndpointBase {
    return endpoint.mac || !endpoint.ipv4 ? endpoint : { ...endpoint, mac: macFromIpv4(endpoint.ipv4) };
  }

  async join(ctx: DriverContext, req: JoinRequest<BridgeConfig>): Promise<JoinResult> {
    return valueOf((await this.joinMany(ctx, [req]))[0]!);
  }

  /** Endpoints of one network, each in a sandbox of its own: their host ends made in one send (attachVethEndpoints). */
  async joinMany(ctx: DriverContext, reqs: readonly JoinRequest<BridgeConfig>[]): Promise<PromiseSettledResult<JoinResult>[]> {
    const cfg = bridgeOf(reqs[0]!.network);
    const made = await this.onBridge(
      ctx,
      cfg.bridgeName,
      (bridgeIndex) =>
        attachVethEndpoints(
          ctx.host,
          reqs.map((req) => vethSpec(cfg, req, bridgeIndex)),
        ),
      // All refused: most likely the bridge's index is no longer its own, and onBridge looks it up and tries again.
      (outcomes) => outcomes.every((o) => o.status === 'rejected'),
    ).catch((err: unknown) => allRejected<VethEndpoint>(reqs.length, err));
    return Promise.all(
      made.map(async (outcome, i): Promise<PromiseSettledResult<JoinResult>> => {
        const req = reqs[i]!;
        const hostIfname = hostEndName(req.endpoint.id);
        if (outcome.status === 'fulfilled') return { status: 'fulfilled', value: { hostIfname, ifname: req.ifname } };
        return { status: 'rejected', reason: await explained(ctx, hostIfname, endpointAlias(req.endpoint.id), outcome.reason) };
      }),
    );
  }

  /**
   * Docker's endpoints: the veth pair is made whole in the host namespace (host end on the bridge, tagged, up);
   * dockerd moves the container end into its own sandbox after Join. Equivalent to:
   * ip link add vethX type veth peer name tsvX; ip link set vethX master BR up
   */
  private async createDetachedEndpoint(
    ctx: DriverContext,
    network: BridgeNetwork,
    endpoint: EndpointBase,
  ): Promise<{ hostIfname: string; peerIfname: string }> {
    const cfg = bridgeOf(network);
    const hostIfname = hostEndName(endpoint.id);
    const peerIfname = `tsv${hostIfname.slice(4)}`;
    await explainTaken(
      ctx,
      hostIfname,
      endpointAlias(endpoint.id),
      this.onBridge(ctx, cfg.bridgeName, (bridgeIndex) =>
        addBridgePort(ctx.host, {
          hostName: hostIfname,
          peerName: peerIfname,
          bridgeIndex,
          alias: endpointAlias(endpoint.id),
          hairpin: true,
          ...(endpoint.mac ? { mac: endpoint.mac } : {}),
          ...(cfg.mtu !== undefined ? { mtu: cfg.mtu } : {}),
        }),
      ),
    );
    return { hostIfname, peerIfname };
  }

  /**
   * Deleting the host ends takes the pairs; all in one request, so one RCU wait for the lot. Only veths that carry
   * the endpoints' tags are deleted, by index: a name freed by a vanished endpoint may since be someone else's. The
   * host ends are asked for by name, together: a listing of every link would cost each of many small removals
   * (containers removed in waves) as much as the host has links.
   */
  async leave(ctx: DriverContext, requests: readonly LeaveRequest<BridgeConfig>[]): Promise<void> {
    if (requests.length === 0) return;
    if (requests.length === 1) return this.leaveOne(ctx, requests[0]!.endpoint);
    const found = await ctx.host.linkFindMany(requests.map((r) => r.endpoint.hostIfname ?? hostEndName(r.endpoint.id)));
    const ours = found.filter((l, i): l is Link => l?.kind === 'veth' && l.alias === endpointAlias(requests[i]!.endpoint.id));
    await ctx.host.linkDeleteMany(ours.map((l) => l.index));
  }

  /**
   * One endpoint (a disconnect): its host end is asked for by its name rather than found in a list of every link,
   * and done once it is out of the namespace, as a network's bridge is (see deleteBridge).
   */
  private async leaveOne(ctx: DriverContext, endpoint: EndpointBase): Promise<void> {
    const link = await ctx.host.linkFind(hostEndName(endpoint.id));
    if (link?.kind !== 'veth' || link.alias !== endpointAlias(endpoint.id)) return;
    try {
      await ctx.host.linkDeleteUnlisted(link.index);
    } catch (err) {
      // Gone meanwhile (its sandbox's namespace went, and the pair with it) counts as deleted.
      if (!(err instanceof NetlinkError && err.errno === Errno.ENODEV)) throw err;
    }
  }

  /** Published ports are rules of the whole firewall: one batch for every bridge network. */
  async programExternalConnectivity(ctx: DriverContext): Promise<void> {
    await applyFirewall(ctx, ctx.networks());
  }
}
