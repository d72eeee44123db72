/**
 * The bridge driver's share of the host: firewall rules for every bridge network at once (one batch), IP
 * forwarding, and bridge netfilter where ICC is off.
 */
import type { NetworkFirewall } from '../../iptables/rules.js';
import type { DriverContext } from '../driver.js';
import type { NetworkRecord } from '../records.js';
import type { BridgeConfig } from './options.js';

export const isBridgeNetwork = (n: NetworkRecord): n is NetworkRecord<BridgeConfig> => n.driver === 'bridge';

export function firewallNetworks(networks: readonly NetworkRecord[]): NetworkFirewall[] {
  return networks.filter(isBridgeNetwork).map((n) => ({
    id: n.id,
    bridge: n.config.bridgeName,
    subnets: n.pools.v4 ? [n.pools.v4.subnet] : [],
    internal: n.internal,
    icc: n.config.icc,
    masquerade: n.config.masquerade,
  }));
}

/** Makes the rules match exactly these networks, in one batch. */
export async function applyFirewall(ctx: DriverContext, networks: readonly NetworkRecord[]): Promise<void> {
  await ctx.firewall?.apply(firewallNetworks(networks));
}

/** Forwarding for networks that reach out; bridge netfilter for ICC off, which iptables enforces on bridged traffic. */
export function enableForwarding(ctx: DriverContext, network: NetworkRecord<BridgeConfig>): void {
  if (!ctx.firewall) return;
  if (!network.internal) ctx.hostNs.sysctlWrite('net/ipv4/ip_forward', '1');
  if (!network.config.icc) {
    ctx.hostNs.sysctlWrite('net/bridge/bridge-nf-call-iptables', '1');
    ctx.hostNs.sysctlWrite('net/bridge/bridge-nf-call-ip6tables', '1');
  }
}
