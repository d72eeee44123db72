/**
 * The bridge driver: a Linux bridge per network holding the gateway address, and per endpoint a veth pair whose
 * peer is created directly inside the sandbox. Firewall rules are per network and applied by the controller.
 */
import { TsnetError } from '../../errors.js';
import { addrAddRequest } from '../../netlink/addr.js';
import { NetlinkError } from '../../netlink/errors.js';
import type { EndpointRecord, NetworkRecord } from '../../cnm/types.js';
import type { DriverContext, JoinRequest, JoinResult, LeaveRequest, NetworkDriver } from '../driver.js';
import { parseBridgeOptions } from './options.js';
import { addBridgePort, attachVethEndpoint } from './veth-endpoint.js';

const ENODEV = 19;

export const bridgeAlias = (networkId: string): string => `tsnet:network:${networkId}`;
export const endpointAlias = (endpointId: string): string => `tsnet:endpoint:${endpointId}`;

/** Docker's MAC for an IPv4 address: 02:42 followed by the address's four bytes. */
export function macFromIpv4(cidr: string): string {
  const octets = cidr.split('/')[0]!.split('.').map((o) => Number(o).toString(16).padStart(2, '0'));
  return ['02', '42', ...octets].join(':');
}

function bridgeOf(network: NetworkRecord) {
  if (!network.bridge) throw new TsnetError('TSNET_ERR_INTERNAL', `network ${network.name} has no bridge configuration`);
  return network.bridge;
}

export class BridgeDriver implements NetworkDriver {
  readonly name = 'bridge' as const;
  readonly capabilities = { scope: 'local', needsIpam: true, hostNamespace: false, multipleNetworks: true } as const;

  configure(input: { id: string; options: Readonly<Record<string, string>> }) {
    return { bridge: parseBridgeOptions(input.id, input.options) };
  }

  /** Equivalent to: ip link add BR type bridge; ip addr add GW/LEN dev BR; ip link set BR up */
  async createNetwork(ctx: DriverContext, network: NetworkRecord): Promise<void> {
    const cfg = bridgeOf(network);
    const bridge = await ctx.host.linkAdd({
      kind: 'bridge',
      name: cfg.bridgeName,
      alias: bridgeAlias(network.id),
      ...(cfg.mtu !== undefined ? { mtu: cfg.mtu } : {}),
    });
    try {
      const requests = [];
      for (const pool of [network.pools.v4, network.pools.v6]) {
        if (pool?.gateway) requests.push(addrAddRequest(bridge.index, `${pool.gateway}/${pool.subnet.split('/')[1]}`, { broadcast: true, noDad: true }));
      }
      await ctx.host.pipeline(requests);
      await ctx.host.linkSet(bridge.index, { up: true, ipv6AddrGenMode: network.ipv6 ? 'eui64' : 'none' });
    } catch (err) {
      await ctx.host.linkDelete(bridge.index).catch(() => undefined);
      throw err;
    }
  }

  async deleteNetwork(ctx: DriverContext, network: NetworkRecord): Promise<void> {
    try {
      await ctx.host.linkDelete(bridgeOf(network).bridgeName);
    } catch (err) {
      if (!(err instanceof NetlinkError && err.errno === ENODEV)) throw err; // already gone counts as deleted
    }
  }

  async networkPresent(ctx: DriverContext, network: NetworkRecord): Promise<boolean> {
    const link = await ctx.host.linkFind(bridgeOf(network).bridgeName);
    return link?.alias === bridgeAlias(network.id);
  }

  /** The host end exists, carries the endpoint's tag and sits on the network's bridge; the peer is in the sandbox. */
  async endpointPresent(ctx: DriverContext, req: JoinRequest): Promise<boolean> {
    if (!req.endpoint.hostIfname) return false;
    const [hostEnd, bridge, inside] = await Promise.all([
      ctx.host.linkFind(req.endpoint.hostIfname),
      ctx.host.linkFind(bridgeOf(req.network).bridgeName),
      req.sandbox.handle.linkFind(req.ifname),
    ]);
    return !!hostEnd && !!bridge && !!inside && hostEnd.alias === endpointAlias(req.endpoint.id) && hostEnd.masterIndex === bridge.index;
  }

  createEndpoint(_network: NetworkRecord, endpoint: EndpointRecord): EndpointRecord {
    return endpoint.mac || !endpoint.ipv4 ? endpoint : { ...endpoint, mac: macFromIpv4(endpoint.ipv4) };
  }

  deleteEndpoint(): void {}

  async join(ctx: DriverContext, req: JoinRequest): Promise<JoinResult> {
    const cfg = bridgeOf(req.network);
    const hostIfname = `veth${req.endpoint.id.slice(0, 7)}`;
    const bridge = await ctx.host.linkGet(cfg.bridgeName);
    await attachVethEndpoint(ctx.host, {
      hostName: hostIfname,
      containerName: req.ifname,
      bridgeIndex: bridge.index,
      sandbox: req.sandbox.ns,
      sandboxHandle: req.sandbox.handle,
      alias: endpointAlias(req.endpoint.id),
      hairpin: true,
      ...(cfg.mtu !== undefined ? { mtu: cfg.mtu } : {}),
      ...(req.endpoint.mac !== undefined ? { mac: req.endpoint.mac } : {}),
      ...(req.endpoint.ipv4 !== undefined ? { address: req.endpoint.ipv4 } : {}),
      ...(req.endpoint.ipv6 !== undefined ? { ipv6Address: req.endpoint.ipv6 } : {}),
      ...(req.defaultRoute && !req.network.internal && req.network.pools.v4?.gateway ? { gateway: req.network.pools.v4.gateway } : {}),
      ...(req.defaultRoute && !req.network.internal && req.endpoint.ipv6 && req.network.pools.v6?.gateway ? { ipv6Gateway: req.network.pools.v6.gateway } : {}),
    });
    return { hostIfname, ifname: req.ifname };
  }

  /**
   * Docker's endpoints: the veth pair is made whole in the host namespace (host end on the bridge, tagged, up);
   * dockerd moves the container end into its own sandbox after Join. Equivalent to:
   * ip link add vethX type veth peer name tsvX; ip link set vethX master BR up
   */
  async createDetachedEndpoint(ctx: DriverContext, network: NetworkRecord, endpoint: EndpointRecord): Promise<{ hostIfname: string; peerIfname: string }> {
    const cfg = bridgeOf(network);
    const hostIfname = `veth${endpoint.id.slice(0, 7)}`;
    const peerIfname = `tsv${endpoint.id.slice(0, 7)}`;
    const bridge = await ctx.host.linkGet(cfg.bridgeName);
    await addBridgePort(ctx.host, {
      hostName: hostIfname,
      peerName: peerIfname,
      bridgeIndex: bridge.index,
      alias: endpointAlias(endpoint.id),
      hairpin: true,
      ...(endpoint.mac ? { mac: endpoint.mac } : {}),
      ...(cfg.mtu !== undefined ? { mtu: cfg.mtu } : {}),
    });
    return { hostIfname, peerIfname };
  }

  /** Deleting the host ends takes the pairs; all in one request, so one RCU wait for the lot. */
  async leave(ctx: DriverContext, requests: readonly LeaveRequest[]): Promise<void> {
    const names = requests.flatMap((r) => (r.endpoint.hostIfname ? [r.endpoint.hostIfname] : []));
    await ctx.host.linkDeleteMany(names);
  }

  async programExternalConnectivity(): Promise<void> {}
  async revokeExternalConnectivity(): Promise<void> {}
}
