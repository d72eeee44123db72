/**
 * The overlay driver: a network that spans hosts. On each host it is a Linux bridge (the bridge driver's, with its
 * gateway, NAT out through this host and the same firewall) with a VXLAN port whose tunnels reach the other hosts'
 * bridges. The VXLAN device neither floods nor learns: remote containers are programmed into it from the cluster
 * store (peers.ts), as Docker's overlay driver does. The network's record and addresses live in the cluster store;
 * this driver makes only the host's share.
 */
import { TsnetError } from '../../errors.js';
import { Errno } from '../../native/errno.js';
import { NetlinkError } from '../../netlink/errors.js';
import { BridgeDriver } from '../bridge/bridge-driver.js';
import type { BridgeConfig } from '../bridge/options.js';
import type { ConfigureInput, DriverContext, JoinRequest, JoinResult, LeaveRequest, NetworkDriver, PresenceRequest } from '../driver.js';
import { ownerTag, type EndpointBase, type NetworkRecord, type RemotePeer } from '../records.js';
import { VXLAN_PORT, parseOverlayOptions, type OverlayConfig } from './options.js';
import { programPeers } from './peers.js';

type OverlayNetwork = NetworkRecord<OverlayConfig>;

export const tunnelAlias = (networkId: string): string => ownerTag('tunnel', networkId);

export class OverlayDriver implements NetworkDriver<OverlayConfig> {
  readonly name = 'overlay' as const;
  readonly capabilities = { scope: 'global', needsIpam: true, hostNamespace: false, multipleNetworks: true } as const;
  /** The host's share of a network is a bridge network's: the bridge driver makes it. */
  private readonly bridge = new BridgeDriver();

  /** advertise: this host's underlay address (--cluster-advertise); absent, the daemon has no cluster. */
  constructor(private readonly advertise: string | undefined) {}

  configure(input: ConfigureInput): OverlayConfig {
    if (!this.advertise) {
      throw new TsnetError('TSNET_ERR_INVALID_ARGUMENT', 'overlay networks span hosts: start the daemon with --cluster-store and --cluster-advertise');
    }
    return parseOverlayOptions(input.id, input.options, this.advertise);
  }

  /**
   * The bridge (with address and firewall), then the VXLAN port on it; what this call made goes if the port fails.
   * Either may be there already (reconciliation makes again what is missing, say a VXLAN device deleted by hand).
   */
  async createNetwork(ctx: DriverContext, network: OverlayNetwork): Promise<void> {
    const bridgeThere = await this.bridge.networkPresent(ctx, network);
    if (!bridgeThere) await this.bridge.createNetwork(ctx, network);
    try {
      if (!(await this.tunnelPresent(ctx, network))) await this.createTunnel(ctx, network);
    } catch (err) {
      if (!bridgeThere) await this.deleteNetwork(ctx, network).catch(() => undefined);
      throw err;
    }
  }

  private async tunnelPresent(ctx: DriverContext, network: OverlayNetwork): Promise<boolean> {
    return (await ctx.host.linkFind(network.config.vxlanName))?.alias === tunnelAlias(network.id);
  }

  /**
   * Equivalent to: ip link add vx-ID type vxlan id VNI local ADDR dstport 4789 nolearning proxy;
   * ip link set vx-ID master ov-ID up; bridge link set dev vx-ID learning off
   */
  private async createTunnel(ctx: DriverContext, network: OverlayNetwork): Promise<void> {
    const cfg = network.config;
    const bridge = await ctx.host.linkGet(cfg.bridgeName);
    const tunnel = await ctx.host.linkAdd({
      kind: 'vxlan',
      name: cfg.vxlanName,
      alias: tunnelAlias(network.id),
      vni: cfg.vni,
      port: VXLAN_PORT,
      local: cfg.local,
      learning: false,
      proxy: true,
      mtu: cfg.mtu,
      masterIndex: bridge.index,
      up: true,
    });
    // The bridge learns nothing behind the tunnel: remote MACs are programmed (peers.ts).
    await ctx.host.linkSet(tunnel.index, { learning: false });
  }

  async deleteNetwork(ctx: DriverContext, network: OverlayNetwork): Promise<void> {
    const tunnel = await ctx.host.linkFind(network.config.vxlanName);
    if (tunnel?.alias === tunnelAlias(network.id)) {
      try {
        await ctx.host.linkDelete(tunnel.index);
      } catch (err) {
        if (!(err instanceof NetlinkError && err.errno === Errno.ENODEV)) throw err;
      }
    }
    await this.bridge.deleteNetwork(ctx, network);
  }

  createEndpoint(network: OverlayNetwork, endpoint: EndpointBase): EndpointBase {
    return this.bridge.createEndpoint(network, endpoint);
  }

  join(ctx: DriverContext, req: JoinRequest<OverlayConfig>): Promise<JoinResult> {
    return this.bridge.join(ctx, req as JoinRequest<BridgeConfig>);
  }

  leave(ctx: DriverContext, requests: readonly LeaveRequest<OverlayConfig>[]): Promise<void> {
    return this.bridge.leave(ctx, requests);
  }

  programExternalConnectivity(ctx: DriverContext, _network: OverlayNetwork): Promise<void> {
    return this.bridge.programExternalConnectivity(ctx);
  }

  async networkPresent(ctx: DriverContext, network: OverlayNetwork): Promise<boolean> {
    return (await this.tunnelPresent(ctx, network)) && (await this.bridge.networkPresent(ctx, network));
  }

  endpointPresent(ctx: DriverContext, req: PresenceRequest<OverlayConfig>): Promise<boolean> {
    return this.bridge.endpointPresent(ctx, req);
  }

  /** The bridge driver restores and checks the firewall and forwarding of every network on a bridge, these too. */
  async restore(): Promise<void> {}

  interfacePrefix(network: OverlayNetwork): string {
    return this.bridge.interfacePrefix(network);
  }

  /** The network's remote containers, programmed into its VXLAN device (nothing when the device is not there). */
  readonly remotePeers = {
    program: async (ctx: DriverContext, network: OverlayNetwork, peers: readonly RemotePeer[]): Promise<void> => {
      const tunnel = await ctx.host.linkFind(network.config.vxlanName);
      if (tunnel?.alias !== tunnelAlias(network.id)) return;
      await programPeers(ctx.host, tunnel.index, peers);
    },
  };
}
