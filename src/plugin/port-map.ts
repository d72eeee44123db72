/**
 * Docker's port map as the remote driver protocol carries it (`com.docker.network.portmap`: Go's
 * types.PortBinding as JSON, Proto numbered as IP protocols), read into tsnet's port specs and written back for
 * EndpointOperInfo.
 */
import type { PortBinding, PortSpec } from '../cnm/controller.js';
import { InvalidArgumentError } from '../errors.js';

export const PORT_MAP = 'com.docker.network.portmap';
export const EXPOSED_PORTS = 'com.docker.network.endpoint.exposedports';

const PROTOCOLS: Readonly<Record<number, PortSpec['protocol']>> = { 6: 'tcp', 17: 'udp', 132: 'sctp' };
const NUMBERS: Readonly<Record<PortSpec['protocol'], number>> = { tcp: 6, udp: 17, sctp: 132 };

const num = (v: unknown): number => (typeof v === 'number' && Number.isInteger(v) ? v : 0);

/** The specs of a port map; an absent or empty map is none. */
export function readPortMap(options: Readonly<Record<string, unknown>>): PortSpec[] {
  const map = options[PORT_MAP];
  if (map === undefined || map === null) return [];
  if (!Array.isArray(map)) throw new InvalidArgumentError(`${PORT_MAP} is not a list`);
  return map.map((entry: unknown) => {
    const b = (entry ?? {}) as Record<string, unknown>;
    const protocol = PROTOCOLS[num(b.Proto)];
    if (!protocol) throw new InvalidArgumentError(`${PORT_MAP}: protocol ${String(b.Proto)} cannot be published (tcp 6, udp 17, sctp 132)`);
    const hostPort = num(b.HostPort);
    const hostPortEnd = num(b.HostPortEnd);
    const hostIp = typeof b.HostIP === 'string' && b.HostIP ? b.HostIP : undefined;
    return {
      protocol,
      containerPort: num(b.Port),
      ...(hostIp ? { hostIp } : {}),
      ...(hostPort ? { hostPort } : {}),
      ...(hostPort && hostPortEnd > hostPort ? { hostPortEnd } : {}),
    };
  });
}

/** Bindings as Docker's bridge reports them in EndpointOperInfo (IP is the container's address). */
export function writePortMap(bindings: readonly PortBinding[], address: (hostIp: string) => string): Record<string, unknown>[] {
  return bindings.map((b) => ({
    Proto: NUMBERS[b.protocol],
    IP: address(b.hostIp),
    Port: b.containerPort,
    HostIP: b.hostIp,
    HostPort: b.hostPort,
    HostPortEnd: b.hostPort,
  }));
}
