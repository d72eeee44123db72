/**
 * The rules of a network's published ports, as Docker's bridge makes them without its userland proxy: DNAT in the
 * nat chain TSNET (reached from PREROUTING for traffic from outside and from OUTPUT for the host's own connections,
 * 127.0.0.1 included), the forward accepts for the container ports, and masquerade only where a reply would go
 * astray: hairpin traffic from the same bridge, and connections from the host's loopback. Pure.
 */
import { isIPv6 } from 'node:net';

export type IpFamily = 4 | 6;

/** What of a network its port rules need. */
export interface PortedNetwork {
  readonly bridge: string;
  readonly subnets: readonly string[];
  readonly subnets6: readonly string[];
  readonly routed: boolean;
  readonly published: readonly PublishedPort[];
}

/** One published port of one endpoint: hostIp:hostPort to address:containerPort. */
export interface PublishedPort {
  readonly protocol: 'tcp' | 'udp' | 'sctp';
  readonly hostIp: string;
  readonly hostPort: number;
  /** The endpoint's address of hostIp's family. */
  readonly address: string;
  readonly containerPort: number;
}

export const NAT_CHAIN = 'TSNET';

const familyOf = (ip: string): IpFamily => (isIPv6(ip) ? 6 : 4);
const host = (ip: string, family: IpFamily): string => `${ip}/${family === 4 ? 32 : 128}`;
const any = (ip: string): boolean => ip === '0.0.0.0' || ip === '::';
const match = (p: PublishedPort, port: number): string => `-p ${p.protocol} -m ${p.protocol} --dport ${port}`;

/** Whether the host reaches one of these ports through 127.0.0.1 (then the bridge needs route_localnet). */
export const reachedFromLoopback = (ports: readonly PublishedPort[]): boolean =>
  ports.some((p) => familyOf(p.hostIp) === 4 && (any(p.hostIp) || p.hostIp.startsWith('127.')));

export interface PortRules {
  readonly dnat: string[];
  readonly postrouting: string[];
  readonly forward: string[];
}

/** The rules of net's published ports of one family; routed networks get no NAT, only the forward accepts. */
export function portRules(net: PortedNetwork, family: IpFamily, forward: string, postrouting: string, c: string): PortRules {
  const ports = net.published.filter((p) => familyOf(p.hostIp) === family && familyOf(p.address) === family);
  const br = net.bridge;
  const accept = [...new Map(ports.map((p) => [`${p.address} ${p.protocol} ${p.containerPort}`, p])).values()].map(
    (p) => `-A ${forward} -d ${host(p.address, family)} ! -i ${br} -o ${br} ${match(p, p.containerPort)} ${c} -j ACCEPT`,
  );
  if (net.routed || ports.length === 0) return { dnat: [], postrouting: [], forward: accept };
  const to = (p: PublishedPort): string => (family === 6 ? `[${p.address}]:${p.containerPort}` : `${p.address}:${p.containerPort}`);
  const dnat = ports.map(
    (p) => `-A ${NAT_CHAIN} ${any(p.hostIp) ? '' : `-d ${host(p.hostIp, family)} `}${match(p, p.hostPort)} ${c} -j DNAT --to-destination ${to(p)}`,
  );
  const subnets = family === 4 ? net.subnets : net.subnets6;
  const masq = subnets.map((s) => `-A ${postrouting} -s ${s} -o ${br} -m conntrack --ctstate DNAT ${c} -j MASQUERADE`);
  if (family === 4 && reachedFromLoopback(ports)) masq.push(`-A ${postrouting} -s 127.0.0.0/8 -o ${br} ${c} -j MASQUERADE`);
  return { dnat: dnat.map((r) => r.replace(/\s+/gu, ' ')), postrouting: masq, forward: accept };
}
