/**
 * Docker's port syntax: `-p [HOST_IP:][HOST_PORT[-END]:]CONTAINER_PORT[-END][/PROTO]` (an IPv6 host address in
 * brackets) and `--expose PORT[-END][/PROTO]`, read into the API's port specs. Pure; shared by the CLI and the daemon.
 */
import type { PortSpec } from '../api/containers.js';
import { InvalidArgumentError } from '../errors.js';

type Protocol = PortSpec['protocol'];

function splitProtocol(text: string, what: string): [string, Protocol] {
  const slash = text.lastIndexOf('/');
  if (slash === -1) return [text, 'tcp'];
  const proto = text.slice(slash + 1).toLowerCase();
  if (proto !== 'tcp' && proto !== 'udp' && proto !== 'sctp') throw new InvalidArgumentError(`invalid ${what} "${text}": protocol must be tcp, udp or sctp`);
  return [text.slice(0, slash), proto];
}

/** "80" or "8000-8010" into [start, end?]. */
function parseRange(text: string, whole: string, what: string): [number, number?] {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/u.exec(text);
  const start = Number(m?.[1]);
  const end = m?.[2] === undefined ? undefined : Number(m[2]);
  if (!m || start < 1 || start > 65535 || (end !== undefined && (end < start || end > 65535))) {
    throw new InvalidArgumentError(`invalid ${what} "${whole}": "${text}" is not a port (1-65535) or a range of ports`);
  }
  return end === undefined || end === start ? [start] : [start, end];
}

/** One -p/--publish value. */
export function parsePublish(text: string): PortSpec {
  const [rest, protocol] = splitProtocol(text.trim(), 'published port');
  let hostIp: string | undefined;
  let body = rest;
  if (body.startsWith('[')) {
    const close = body.indexOf(']:');
    if (close === -1) throw new InvalidArgumentError(`invalid published port "${text}": an IPv6 host address is written [ADDRESS]:PORT:PORT`);
    hostIp = body.slice(1, close);
    body = body.slice(close + 2);
  }
  const parts = body.split(':');
  if (hostIp === undefined && parts.length === 3) hostIp = parts.shift();
  if (parts.length > 2 || (hostIp !== undefined && parts.length !== 2))
    throw new InvalidArgumentError(`invalid published port "${text}": expected [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTO]`);
  const [container, host] = parts.length === 2 ? [parts[1]!, parts[0]!] : [parts[0]!, ''];
  const [containerPort, containerPortEnd] = parseRange(container, text, 'published port');
  const [hostPort, hostPortEnd] = host ? parseRange(host, text, 'published port') : [undefined, undefined];
  return {
    protocol,
    containerPort,
    ...(containerPortEnd !== undefined ? { containerPortEnd } : {}),
    ...(hostIp ? { hostIp } : {}),
    ...(hostPort !== undefined ? { hostPort } : {}),
    ...(hostPortEnd !== undefined ? { hostPortEnd } : {}),
  };
}

/** One --expose value, as a spec without a host port (what -P publishes). */
export function parseExpose(text: string): PortSpec {
  const [rest, protocol] = splitProtocol(text.trim(), 'exposed port');
  const [containerPort, containerPortEnd] = parseRange(rest, text, 'exposed port');
  return { protocol, containerPort, ...(containerPortEnd !== undefined ? { containerPortEnd } : {}) };
}

/** "80/tcp -> 0.0.0.0:8080", as `docker port` prints a binding. */
export const formatBinding = (p: { protocol: string; containerPort: number; hostIp: string; hostPort: number }): string =>
  `${p.containerPort}/${p.protocol} -> ${p.hostIp.includes(':') ? `[${p.hostIp}]` : p.hostIp}:${p.hostPort}`;
