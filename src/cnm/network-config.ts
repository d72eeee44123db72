/**
 * Pure helpers of the controller: what a network's pools, firewall entry and next interface name are, computed
 * from records.
 */
import { TsnetError } from '../errors.js';
import type { NetworkFirewall } from '../iptables/rules.js';
import type { PoolConfig } from '../ipam/pool.js';
import { Subnet, formatAddress } from '../ipam/subnet.js';
import type { ExternalPool } from './controller.js';
import type { EndpointRecord, NetworkRecord, PoolRecord } from './types.js';

/** Pools Docker allocated: checked against the other networks' subnets (a pool of tsnet's IPAM with exactly
 * this subnet and no network is Docker's own request through the IPAM plugin, and fine). */
export function externalPoolRecords(id: string, ext: { readonly v4?: ExternalPool; readonly v6?: ExternalPool }, networks: readonly NetworkRecord[]): NetworkRecord['pools'] {
  const out: { v4?: PoolRecord; v6?: PoolRecord } = {};
  for (const family of ['v4', 'v6'] as const) {
    const p = ext[family];
    if (!p) continue;
    const subnet = Subnet.parse(p.subnet, { strict: true });
    for (const n of networks) {
      const other = n.pools[family];
      if (other && Subnet.parse(other.subnet).overlaps(subnet)) {
        throw new TsnetError('TSNET_ERR_POOL_OVERLAP', `subnet ${subnet.toString()} overlaps network "${n.name}" (${other.subnet})`);
      }
    }
    out[family] = { id: `external:${id}:${family}`, space: 'local', subnet: subnet.toString(), ...(p.gateway ? { gateway: p.gateway } : {}), auxAddresses: {}, external: true };
  }
  return out;
}

export function poolRecord(p: PoolConfig): PoolRecord {
  return {
    id: p.id,
    space: p.space,
    subnet: p.subnet.toString(),
    ...(p.range.toString() !== p.subnet.toString() ? { ipRange: p.range.toString() } : {}),
    ...(p.gateway ? { gateway: formatAddress(p.gateway) } : {}),
    auxAddresses: Object.fromEntries(Object.entries(p.auxAddresses).map(([k, v]) => [k, formatAddress(v)])),
  };
}

export function firewallNetworks(networks: readonly NetworkRecord[]): NetworkFirewall[] {
  return networks
    .filter((n) => n.driver === 'bridge' && n.bridge)
    .map((n) => ({
      id: n.id,
      bridge: n.bridge!.bridgeName,
      subnets: n.pools.v4 ? [n.pools.v4.subnet] : [],
      internal: n.internal,
      icc: n.bridge!.icc,
      masquerade: n.bridge!.masquerade,
    }));
}

/** The lowest ethN not used by the sandbox's endpoints. */
export function nextIfname(joined: readonly EndpointRecord[]): string {
  const used = new Set(joined.map((e) => e.ifname));
  for (let i = 0; ; i++) if (!used.has(`eth${i}`)) return `eth${i}`;
}

