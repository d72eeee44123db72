/** Neighbours (ARP and NDP entries): listed for diagnostics, and permanent ones added (a lab's point-to-point links). */
import {
  AF_INET,
  AF_INET6,
  AF_UNSPEC,
  NDA_DST,
  NDA_LLADDR,
  NUD_DELAY,
  NUD_FAILED,
  NUD_INCOMPLETE,
  NUD_NOARP,
  NUD_PERMANENT,
  NUD_PROBE,
  NUD_REACHABLE,
  NUD_STALE,
  NLM_F_CREATE,
  NLM_F_REPLACE,
  RTM_GETNEIGH,
  RTM_NEWNEIGH,
  RTM_DELNEIGH,
} from './constants.js';
import { attr } from './attributes.js';
import { decodeFamily, encodeMessage, ndmsg, type NlMessage } from './message.js';
import type { NetlinkRequest } from './socket.js';
import { checkIndex, familyName, formatIp, formatMac, parseIp, parseMac } from './validate.js';

export interface Neigh {
  readonly family: 'inet' | 'inet6' | 'unspec';
  readonly index: number;
  readonly address?: string;
  readonly mac?: string;
  /** NUD state names, as `ip neigh` prints them: REACHABLE, STALE, PERMANENT... */
  readonly state: readonly string[];
}

const STATES: readonly [number, string][] = [
  [NUD_INCOMPLETE, 'INCOMPLETE'],
  [NUD_REACHABLE, 'REACHABLE'],
  [NUD_STALE, 'STALE'],
  [NUD_DELAY, 'DELAY'],
  [NUD_PROBE, 'PROBE'],
  [NUD_FAILED, 'FAILED'],
  [NUD_NOARP, 'NOARP'],
  [NUD_PERMANENT, 'PERMANENT'],
];

export function decodeNeigh(msg: NlMessage): Neigh {
  const { head, attrs } = decodeFamily(msg, ndmsg);
  const dst = attrs.bytes(NDA_DST);
  const mac = attrs.bytes(NDA_LLADDR);
  return {
    family: familyName(head.family),
    index: head.index,
    ...(dst && (dst.length === 4 || dst.length === 16) ? { address: formatIp(dst) } : {}),
    ...(mac && mac.length === 6 ? { mac: formatMac(mac) } : {}),
    state: STATES.filter(([bit]) => head.state & bit).map(([, name]) => name),
  };
}

/** Equivalent to: `ip neigh show` */
export function neighListRequest(filter: { family?: 'inet' | 'inet6' } = {}): NetlinkRequest<Neigh[]> {
  const family = filter.family === 'inet6' ? AF_INET6 : filter.family === 'inet' ? AF_INET : AF_UNSPEC;
  return {
    type: RTM_GETNEIGH,
    object: '',
    dump: true,
    encode: (seq, f) => encodeMessage(RTM_GETNEIGH, f, seq, ndmsg, { family, index: 0, state: 0, flags: 0, type: 0 }, []),
    parse: (replies) => replies.filter((m) => m.header.type === RTM_NEWNEIGH).map(decodeNeigh),
  };
}

/** Equivalent to: `ip neigh replace ADDRESS lladdr MAC dev DEV nud permanent` */
export function neighReplaceRequest(index: number, address: string, mac: string): NetlinkRequest<void> {
  const ip = parseIp(address, 'neighbour address');
  const lladdr = parseMac(mac);
  checkIndex(index, 'neighbour interface index');
  return {
    type: RTM_NEWNEIGH,
    object: `${ip.text} index ${index}`,
    dump: false,
    encode: (seq, f) =>
      encodeMessage(RTM_NEWNEIGH, f | NLM_F_CREATE | NLM_F_REPLACE, seq, ndmsg, { family: ip.family, index, state: NUD_PERMANENT, flags: 0, type: 0 }, [
        attr.bytes(NDA_DST, ip.bytes),
        attr.bytes(NDA_LLADDR, lladdr),
      ]),
    parse: () => undefined,
  };
}

/** Equivalent to: `ip neigh del ADDRESS dev DEV` */
export function neighDeleteRequest(index: number, address: string): NetlinkRequest<void> {
  const ip = parseIp(address, 'neighbour address');
  checkIndex(index, 'neighbour interface index');
  return {
    type: RTM_DELNEIGH,
    object: `${ip.text} index ${index}`,
    dump: false,
    encode: (seq, f) => encodeMessage(RTM_DELNEIGH, f, seq, ndmsg, { family: ip.family, index, state: 0, flags: 0, type: 0 }, [attr.bytes(NDA_DST, ip.bytes)]),
    parse: () => undefined,
  };
}
