/**
 * Published ports as asked (docker run -p, Docker's port map) checked and expanded into one wanted binding per
 * host port and family: "-p 8000-8002:80-82" is three, "-p 8080:80" on a dual-stack network is two. Pure.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { InvalidArgumentError } from '../../errors.js';
import type { PortProtocol, PortSpec } from '../types.js';

const PROTOCOLS: readonly PortProtocol[] = ['tcp', 'udp', 'sctp'];

/** One binding to make: hostPort 0 asks for an ephemeral port; a host range lets the first free port of it serve. */
export interface WantedBinding {
  readonly protocol: PortProtocol;
  readonly containerPort: number;
  readonly hostIp: string;
  readonly hostPort: number;
  readonly hostPortEnd?: number;
}

const isPort = (p: number | undefined): boolean => p === undefined || (Number.isInteger(p) && p >= 0 && p <= 65535);

const describe = (s: PortSpec): string =>
  `${s.hostIp ? `${s.hostIp}:` : ''}${s.hostPort ? `${s.hostPort}${s.hostPortEnd ? `-${s.hostPortEnd}` : ''}:` : ''}${s.containerPort}${
    s.containerPortEnd ? `-${s.containerPortEnd}` : ''
  }/${s.protocol}`;

/** Refuses what cannot be published, naming the spec as the user wrote it. */
export function checkPortSpecs(specs: readonly PortSpec[]): void {
  for (const s of specs) {
    const bad = (why: string): never => {
      throw new InvalidArgumentError(`invalid published port "${describe(s)}": ${why}`);
    };
    if (!PROTOCOLS.includes(s.protocol)) bad(`protocol must be tcp, udp or sctp`);
    if (![s.containerPort, s.containerPortEnd, s.hostPort, s.hostPortEnd].every(isPort)) bad('ports are numbers from 1 to 65535');
    if (s.containerPort < 1) bad('the container port must be from 1 to 65535');
    if (s.containerPortEnd !== undefined && s.containerPortEnd < s.containerPort) bad('the container port range ends before it starts');
    if (s.hostPortEnd !== undefined && (!s.hostPort || s.hostPortEnd < s.hostPort)) bad('the host port range ends before it starts');
    const containers = (s.containerPortEnd ?? s.containerPort) - s.containerPort + 1;
    const hosts = s.hostPort ? (s.hostPortEnd ?? s.hostPort) - s.hostPort + 1 : containers;
    if (hosts !== containers && containers !== 1) bad(`${containers} container ports cannot map to ${hosts} host ports`);
    if (s.hostIp !== undefined && !isIPv4(s.hostIp) && !isIPv6(s.hostIp)) bad(`"${s.hostIp}" is not an IP address`);
  }
}

/**
 * The bindings of specs on a network: a spec without a host address publishes on every address of each family the
 * endpoint has (IPv4 through defaultIpv4, Docker's host_binding_ipv4), one with an address only on that address.
 */
export function expandPortSpecs(specs: readonly PortSpec[], families: { v4: boolean; v6: boolean }, defaultIpv4 = '0.0.0.0'): WantedBinding[] {
  const out: WantedBinding[] = [];
  for (const s of specs) {
    const ips = s.hostIp !== undefined ? [s.hostIp] : [...(families.v4 ? [defaultIpv4] : []), ...(families.v6 ? ['::'] : [])];
    const count = (s.containerPortEnd ?? s.containerPort) - s.containerPort + 1;
    for (const hostIp of ips) {
      if (isIPv6(hostIp) ? !families.v6 : !families.v4) {
        throw new InvalidArgumentError(`cannot publish ${describe(s)} on ${hostIp}: the network has no ${isIPv6(hostIp) ? 'IPv6' : 'IPv4'} address for it`);
      }
      for (let i = 0; i < count; i++) {
        const hostPort = s.hostPort ? s.hostPort + i : 0;
        const range = count === 1 && s.hostPortEnd !== undefined && s.hostPortEnd !== s.hostPort ? { hostPortEnd: s.hostPortEnd } : {};
        out.push({ protocol: s.protocol, containerPort: s.containerPort + i, hostIp, hostPort, ...range });
      }
    }
  }
  return out;
}

/** Whether two bindings want the same host port: same protocol and port, and the same address or a wildcard of its family. */
export function clashes(a: { protocol: string; hostIp: string; hostPort: number }, b: { protocol: string; hostIp: string; hostPort: number }): boolean {
  if (a.protocol !== b.protocol || a.hostPort !== b.hostPort || a.hostPort === 0) return false;
  if (isIPv6(a.hostIp) !== isIPv6(b.hostIp)) return false;
  const any = (ip: string): boolean => ip === '0.0.0.0' || ip === '::';
  return a.hostIp === b.hostIp || any(a.hostIp) || any(b.hostIp);
}

export const formatHostPort = (b: { protocol: string; hostIp: string; hostPort: number }): string =>
  `${isIPv6(b.hostIp) ? `[${b.hostIp}]` : b.hostIp}:${b.hostPort}/${b.protocol}`;
