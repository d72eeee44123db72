/**
 * Checks of input that the kernel would reject anyway, done before any system call so that the message can say
 * plainly what is wrong, and so that nothing is half-done. Also the address helpers the verbs share.
 */
import ipaddr from 'ipaddr.js';
import { InvalidArgumentError } from '../errors.js';
import { AF_INET, AF_INET6 } from './constants.js';

/** IFNAMSIZ is 16 with the terminating NUL. */
export const MAX_IFNAME_BYTES = 15;
/** IFALIASZ is 256 with the terminating NUL. */
export const MAX_IFALIAS_BYTES = 255;

/** Mirrors the kernel's dev_valid_name(). */
export function checkInterfaceName(name: string, what = 'interface name'): string {
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes === 0) throw new InvalidArgumentError(`${what} is empty`);
  if (bytes > MAX_IFNAME_BYTES) {
    throw new InvalidArgumentError(`${what} "${name}" is ${bytes} bytes long; the kernel allows at most ${MAX_IFNAME_BYTES}`);
  }
  if (name === '.' || name === '..') throw new InvalidArgumentError(`${what} "${name}" is not allowed`);
  if (/[/:\s]/u.test(name)) {
    throw new InvalidArgumentError(`${what} "${name}" contains "/", ":" or white space, which the kernel refuses`);
  }
  // The kernel would stop at a NUL and take the name for a shorter one than tsnet records.
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is looked for
  if (/[\u0000-\u001f\u007f]/u.test(name)) throw new InvalidArgumentError(`${what} ${JSON.stringify(name)} contains a control character`);
  return name;
}

export function checkAlias(alias: string): string {
  const bytes = Buffer.byteLength(alias, 'utf8');
  if (bytes > MAX_IFALIAS_BYTES) {
    throw new InvalidArgumentError(`interface alias is ${bytes} bytes long; the kernel allows at most ${MAX_IFALIAS_BYTES}`);
  }
  return alias;
}

/** "02:42:ac:11:00:02" -> 6 bytes. A multicast address is refused, as the kernel refuses it for Ethernet. */
export function parseMac(mac: string): Buffer {
  if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/iu.test(mac)) {
    throw new InvalidArgumentError(`MAC address "${mac}" is not of the form 02:42:ac:11:00:02`);
  }
  const bytes = Buffer.from(mac.split(':').map((h) => parseInt(h, 16)));
  if (bytes[0]! & 1) throw new InvalidArgumentError(`MAC address "${mac}" is a multicast address`);
  return bytes;
}

export function formatMac(bytes: Buffer): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

export function checkMtu(mtu: number): number {
  if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) {
    throw new InvalidArgumentError(`MTU ${mtu} is out of range: it must be a whole number from 68 to 65535`);
  }
  return mtu;
}

export function checkIndex(index: number, what = 'interface index'): number {
  if (!Number.isInteger(index) || index <= 0 || index > 0x7fffffff) {
    throw new InvalidArgumentError(`${what} ${index} is not a positive whole number`);
  }
  return index;
}

export interface ParsedIp {
  readonly family: typeof AF_INET | typeof AF_INET6;
  readonly bytes: Buffer;
  /** Canonical text (RFC 5952 for IPv6). */
  readonly text: string;
}

/** Dotted-quad IPv4 as ipaddr.js's isValidFourPartDecimal takes it: four decimals to 255, no leading zeros. */
const DOTTED_QUAD = /^(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})$/u;

/** A single address, IPv4 in dotted-quad form or IPv6. */
export function parseIp(text: string, what = 'address'): ParsedIp {
  // IPv4, the common case of every endpoint, without ipaddr.js's general parser (0.05 ms an address here).
  const quad = DOTTED_QUAD.exec(text);
  if (quad) {
    const bytes = quad.slice(1, 5).map(Number);
    if (bytes.every((b) => b <= 255)) return { family: AF_INET, bytes: Buffer.from(bytes), text };
  }
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) addr = ipaddr.IPv4.parse(text);
  else if (ipaddr.IPv6.isValid(text)) addr = ipaddr.IPv6.parse(text);
  else throw new InvalidArgumentError(`${what} "${text}" is not an IPv4 or IPv6 address`);
  return {
    family: addr.kind() === 'ipv4' ? AF_INET : AF_INET6,
    bytes: Buffer.from(addr.toByteArray()),
    text: addr.toString(),
  };
}

export interface ParsedPrefix extends ParsedIp {
  readonly prefixLen: number;
}

/** "10.1.0.2/24" or "fd00::2/64"; without a length, the whole address (/32 or /128). */
export function parsePrefix(text: string, what = 'address'): ParsedPrefix {
  const slash = text.indexOf('/');
  const ip = parseIp(slash === -1 ? text : text.slice(0, slash), what);
  const max = ip.family === AF_INET ? 32 : 128;
  if (slash === -1) return { ...ip, prefixLen: max };
  const lenText = text.slice(slash + 1);
  const prefixLen = /^\d{1,3}$/u.test(lenText) ? Number(lenText) : NaN;
  if (!(prefixLen >= 0 && prefixLen <= max)) {
    throw new InvalidArgumentError(`${what} "${text}": prefix length "${lenText}" must be a whole number from 0 to ${max}`);
  }
  return { ...ip, prefixLen };
}

/** The address as text from kernel bytes (4 or 16). */
export function formatIp(bytes: Buffer): string {
  return ipaddr.fromByteArray([...bytes]).toString();
}

export const familyName = (family: number): 'inet' | 'inet6' | 'unspec' => (family === AF_INET ? 'inet' : family === AF_INET6 ? 'inet6' : 'unspec');
