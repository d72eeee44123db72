/**
 * The bridge driver's share of the host: firewall rules for every bridge network at once (one batch), IP
 * forwarding, and bridge netfilter where ICC is off.
 */
import { isIPv6 } from 'node:net';
import { addressOf } from '../../ipam/subnet.js';
import { reachedFromLoopback } from '../../iptables/port-rules.js';
import type { NetworkFirewall, PublishedPort } from '../../iptables/rules.js';
import type { DriverContext } from '../driver.js';
import type { NetworkRecord } from '../records.js';
import type { BridgeConfig } from './options.js';

/** Networks on a Linux bridge of tsnet's (bridge, and overlay, whose bridge also holds a VXLAN port): one firewall for all. */
export const isBridgeNetwork = (n: NetworkRecord): n is NetworkRecord<BridgeConfig> => n.driver === 'bridge' || n.driver === 'overlay';

/** The published ports of a network's endpoints, each to the endpoint's address of its host address's family. */
function publishedPorts(ctx: DriverContext, network: NetworkRecord): PublishedPort[] {
  return ctx.endpoints(network.id).flatMap((e) =>
    (e.ports ?? []).flatMap((p) => {
      const address = isIPv6(p.hostIp) ? e.ipv6 : e.ipv4;
      return address ? [{ protocol: p.protocol, hostIp: p.hostIp, hostPort: p.hostPort, address: addressOf(address), containerPort: p.containerPort }] : [];
    }),
  );
}

export function firewallNetworks(ctx: DriverContext, networks: readonly NetworkRecord[]): NetworkFirewall[] {
  return networks.filter(isBridgeNetwork).map((n) => ({
    id: n.id,
    bridge: n.config.bridgeName,
    subnets: n.pools.v4 ? [n.pools.v4.subnet] : [],
    subnets6: n.pools.v6 ? [n.pools.v6.subnet] : [],
    internal: n.internal,
    icc: n.config.icc,
    masquerade: n.config.masquerade,
    routed: n.config.gatewayMode === 'routed',
    published: publishedPorts(ctx, n),
  }));
}

/**
 * Makes the rules match exactly these networks, in one batch. A bridge whose ports the host reaches through
 * 127.0.0.1 gets route_localnet first: the DNATed packets keep their loopback source until masqueraded.
 */
export async function applyFirewall(ctx: DriverContext, networks: readonly NetworkRecord[]): Promise<void> {
  if (!ctx.firewall) return;
  const rules = firewallNetworks(ctx, networks);
  for (const n of rules) if (!n.routed && reachedFromLoopback(n.published)) ctx.hostNs.sysctlWrite(`net/ipv4/conf/${n.bridge}/route_localnet`, '1');
  await ctx.firewall.apply(rules);
}

/** Forwarding for networks that reach out; bridge netfilter for ICC off, which iptables enforces on bridged traffic. */
export function enableForwarding(ctx: DriverContext, network: NetworkRecord<BridgeConfig>): void {
  if (!ctx.firewall) return;
  if (!network.internal) ctx.hostNs.sysctlWrite('net/ipv4/ip_forward', '1');
  if (!network.internal && network.ipv6) ctx.hostNs.sysctlWrite('net/ipv6/conf/all/forwarding', '1');
  if (!network.config.icc) {
    ctx.hostNs.sysctlWrite('net/bridge/bridge-nf-call-iptables', '1');
    ctx.hostNs.sysctlWrite('net/bridge/bridge-nf-call-ip6tables', '1');
  }
}
