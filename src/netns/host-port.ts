/**
 * Host ports held by bound sockets in a namespace, as dockerd holds the ports it publishes: while tsnet holds the
 * socket, another program's bind of that port fails (EADDRINUSE) instead of silently losing its traffic to DNAT.
 * The sockets are bound, never listened on, and close-on-exec, so containers never inherit them.
 */
import { closeSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import ipaddr from 'ipaddr.js';
import { native } from '../native/library.js';
import { NetnsError, type NetNs } from './netns.js';

export type PortProtocol = 'tcp' | 'udp' | 'sctp';

const AF_INET = 2;
const AF_INET6 = 10;
const SOCK_STREAM = 1;
const SOCK_DGRAM = 2;
const SOCK_SEQPACKET = 5;
const IPPROTO_SCTP = 132;

const socketKind = (proto: PortProtocol): [number, number] =>
  proto === 'tcp' ? [SOCK_STREAM, 0] : proto === 'udp' ? [SOCK_DGRAM, 0] : [SOCK_SEQPACKET, IPPROTO_SCTP];

export interface HeldPort {
  readonly fd: number;
  /** The port bound: the one asked for, or the kernel's pick from ip_local_port_range when 0 was asked. */
  readonly port: number;
}

/**
 * Binds proto on address:port in ns ("0.0.0.0" or "::" for every address; an IPv6 socket is IPv6-only).
 * Throws a NetnsError carrying the errno (EADDRINUSE when the port is held).
 */
export function holdPort(ns: NetNs, proto: PortProtocol, address: string, port: number): HeldPort {
  const [type, protocol] = socketKind(proto);
  const family = isIPv4(address) ? AF_INET : AF_INET6;
  const fd = native().portBind(ns.nativePath, family, type, protocol, Buffer.from(ipaddr.parse(address).toByteArray()), port);
  if (fd < 0) throw new NetnsError('bind', `${proto} ${address.includes(':') ? `[${address}]` : address}:${port} in ${ns.name}`, -fd);
  const bound = native().portOf(fd);
  if (bound < 0) {
    closeSync(fd);
    throw new NetnsError('getsockname', `${proto} port ${port} in ${ns.name}`, -bound);
  }
  return { fd, port: bound };
}

/** Gives a held port back. */
export function releasePort(held: HeldPort): void {
  try {
    closeSync(held.fd);
  } catch {
    // Already closed: nothing is held.
  }
}
