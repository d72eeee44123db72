/** Interface addresses, IPv4 and IPv6: request builders and the decoder of RTM_NEWADDR messages. */
import { attr, type Attr } from './attributes.js';
import {
  AF_INET,
  AF_INET6,
  AF_UNSPEC,
  IFA_ADDRESS,
  IFA_BROADCAST,
  IFA_F_NODAD,
  IFA_FLAGS,
  IFA_LABEL,
  IFA_LOCAL,
  NLM_F_CREATE,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  RTM_DELADDR,
  RTM_GETADDR,
  RTM_NEWADDR,
  RT_SCOPE_UNIVERSE,
} from './constants.js';
import { decodeFamily, encodeMessage, ifaddrmsg, type NlMessage } from './message.js';
import type { NetlinkRequest } from './socket.js';
import { checkIndex, familyName, formatIp, parsePrefix } from './validate.js';

export interface Addr {
  readonly family: 'inet' | 'inet6' | 'unspec';
  readonly index: number;
  /** The address itself (IFA_LOCAL for IPv4, IFA_ADDRESS for IPv6). */
  readonly address: string;
  readonly prefixLen: number;
  /** "address/prefixLen" */
  readonly cidr: string;
  /** The peer of a point-to-point link, when it differs from address. */
  readonly peer?: string;
  readonly broadcast?: string;
  readonly label?: string;
  readonly scope: number;
  readonly flags: number;
}

export function decodeAddr(msg: NlMessage): Addr {
  const { head, attrs } = decodeFamily(msg, ifaddrmsg);
  const local = attrs.bytes(IFA_LOCAL);
  const address = attrs.bytes(IFA_ADDRESS);
  const own = local ?? address;
  const text = own ? formatIp(own) : '';
  const peer = local && address && !local.equals(address) ? formatIp(address) : undefined;
  const broadcast = attrs.bytes(IFA_BROADCAST);
  const label = attrs.str(IFA_LABEL);
  return {
    family: familyName(head.family),
    index: head.index,
    address: text,
    prefixLen: head.prefixLen,
    cidr: `${text}/${head.prefixLen}`,
    ...(peer !== undefined ? { peer } : {}),
    ...(broadcast ? { broadcast: formatIp(broadcast) } : {}),
    ...(label !== undefined ? { label } : {}),
    scope: head.scope,
    flags: attrs.u32(IFA_FLAGS) ?? head.flags,
  };
}

export interface AddrOptions {
  /** Skip duplicate address detection (IPv6): the address is usable at once. */
  readonly noDad?: boolean;
  /** Replace an existing identical address instead of failing with EEXIST. */
  readonly replace?: boolean;
  /** Set the IPv4 broadcast address to the subnet's last address, as `ip addr add ... brd +` does. */
  readonly broadcast?: boolean;
}

function addrMessage(type: number, index: number, cidr: string, options: AddrOptions): { attrs: Attr[]; family: number; prefixLen: number } {
  checkIndex(index);
  const p = parsePrefix(cidr);
  const attrs: Attr[] = [attr.bytes(IFA_LOCAL, p.bytes), attr.bytes(IFA_ADDRESS, p.bytes)];
  if (type === RTM_NEWADDR && options.broadcast && p.family === AF_INET && p.prefixLen < 31) {
    const value = p.bytes.readUInt32BE(0) | (0xffffffff >>> p.prefixLen);
    const brd = Buffer.alloc(4);
    brd.writeUInt32BE(value >>> 0);
    attrs.push(attr.bytes(IFA_BROADCAST, brd));
  }
  if (options.noDad) attrs.push(attr.u32(IFA_FLAGS, IFA_F_NODAD));
  return { attrs, family: p.family, prefixLen: p.prefixLen };
}

/** Equivalent to: `ip addr add CIDR dev DEV` */
export function addrAddRequest(index: number, cidr: string, options: AddrOptions = {}): NetlinkRequest<void> {
  const m = addrMessage(RTM_NEWADDR, index, cidr, options);
  const create = NLM_F_CREATE | (options.replace ? NLM_F_REPLACE : NLM_F_EXCL);
  return {
    type: RTM_NEWADDR,
    object: `${cidr} index ${index}`,
    dump: false,
    encode: (seq, f) =>
      encodeMessage(
        RTM_NEWADDR,
        f | create,
        seq,
        ifaddrmsg,
        { family: m.family, prefixLen: m.prefixLen, flags: options.noDad ? IFA_F_NODAD : 0, scope: RT_SCOPE_UNIVERSE, index },
        m.attrs,
      ),
    parse: () => undefined,
  };
}

/** Equivalent to: `ip addr del CIDR dev DEV` */
export function addrDeleteRequest(index: number, cidr: string): NetlinkRequest<void> {
  const m = addrMessage(RTM_DELADDR, index, cidr, {});
  return {
    type: RTM_DELADDR,
    object: `${cidr} index ${index}`,
    dump: false,
    encode: (seq, f) => encodeMessage(RTM_DELADDR, f, seq, ifaddrmsg, { family: m.family, prefixLen: m.prefixLen, flags: 0, scope: 0, index }, m.attrs),
    parse: () => undefined,
  };
}

/** Equivalent to: `ip addr show [dev DEV]`; the family filter and the index filter are applied by the kernel. */
export function addrListRequest(filter: { family?: 'inet' | 'inet6'; index?: number } = {}): NetlinkRequest<Addr[]> {
  const family = filter.family === 'inet' ? AF_INET : filter.family === 'inet6' ? AF_INET6 : AF_UNSPEC;
  const index = filter.index ?? 0;
  return {
    type: RTM_GETADDR,
    object: '',
    dump: true,
    encode: (seq, f) => encodeMessage(RTM_GETADDR, f, seq, ifaddrmsg, { family, prefixLen: 0, flags: 0, scope: 0, index }, []),
    parse: (replies) =>
      replies
        .filter((m) => m.header.type === RTM_NEWADDR)
        .map(decodeAddr)
        // Strict checking filters by index on kernels >= 4.20; older ones send everything.
        .filter((a) => index === 0 || a.index === index),
  };
}
