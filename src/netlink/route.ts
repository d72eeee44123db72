/** Routes, IPv4 and IPv6: request builders and the decoder of RTM_NEWROUTE messages. */
import { InvalidArgumentError } from '../errors.js';
import { attr, type Attr } from './attributes.js';
import {
  AF_INET,
  AF_INET6,
  AF_UNSPEC,
  NLM_F_CREATE,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  RTA_DST,
  RTA_GATEWAY,
  RTA_OIF,
  RTA_PREFSRC,
  RTA_PRIORITY,
  RTA_TABLE,
  RTM_DELROUTE,
  RTM_GETROUTE,
  RTM_NEWROUTE,
  RTNH_F_ONLINK,
  RTN_UNICAST,
  RTPROT_BOOT,
  RT_SCOPE_HOST,
  RT_SCOPE_LINK,
  RT_SCOPE_NOWHERE,
  RT_SCOPE_UNIVERSE,
  RT_TABLE_MAIN,
  RT_TABLE_UNSPEC,
} from './constants.js';
import { decodeFamily, encodeMessage, rtmsg, type NlMessage, type RtMsg } from './message.js';
import type { NetlinkRequest } from './socket.js';
import { checkIndex, familyName, formatIp, parseIp, parsePrefix } from './validate.js';

export type RouteScope = 'universe' | 'link' | 'host' | 'nowhere';
const SCOPES: Record<RouteScope, number> = {
  universe: RT_SCOPE_UNIVERSE,
  link: RT_SCOPE_LINK,
  host: RT_SCOPE_HOST,
  nowhere: RT_SCOPE_NOWHERE,
};

export interface Route {
  readonly family: 'inet' | 'inet6' | 'unspec';
  /** "default" or "address/prefixLen". */
  readonly dst: string;
  readonly gateway?: string;
  readonly oif?: number;
  readonly prefsrc?: string;
  readonly priority?: number;
  readonly table: number;
  readonly protocol: number;
  readonly scope: number;
  readonly type: number;
  readonly onlink: boolean;
}

export function decodeRoute(msg: NlMessage): Route {
  const { head, attrs } = decodeFamily(msg, rtmsg);
  const dst = attrs.bytes(RTA_DST);
  const gateway = attrs.bytes(RTA_GATEWAY);
  const prefsrc = attrs.bytes(RTA_PREFSRC);
  const oif = attrs.u32(RTA_OIF);
  const priority = attrs.u32(RTA_PRIORITY);
  return {
    family: familyName(head.family),
    dst: head.dstLen === 0 ? 'default' : `${dst ? formatIp(dst) : '?'}/${head.dstLen}`,
    ...(gateway ? { gateway: formatIp(gateway) } : {}),
    ...(oif !== undefined ? { oif } : {}),
    ...(prefsrc ? { prefsrc: formatIp(prefsrc) } : {}),
    ...(priority !== undefined ? { priority } : {}),
    table: attrs.u32(RTA_TABLE) ?? head.table,
    protocol: head.protocol,
    scope: head.scope,
    type: head.type,
    onlink: (head.flags & RTNH_F_ONLINK) !== 0,
  };
}

export interface RouteSpec {
  /** "default", or a prefix such as "10.1.0.0/24" (a bare address means /32 or /128). */
  readonly dst: string;
  /** Needed for "default" without a gateway: which family's default route. */
  readonly family?: 'inet' | 'inet6';
  readonly gateway?: string;
  readonly oif?: number;
  /** Preferred source address. */
  readonly src?: string;
  readonly priority?: number;
  readonly table?: number;
  readonly protocol?: number;
  /** Default: "link" for a route without a gateway, "universe" otherwise (as iproute2 chooses). */
  readonly scope?: RouteScope;
  /** Take the gateway as directly reachable on oif, even outside oif's subnets. */
  readonly onlink?: boolean;
}

function routeParts(spec: RouteSpec, forDelete: boolean): { head: RtMsg; attrs: Attr[] } {
  let family = spec.family === 'inet6' ? AF_INET6 : spec.family === 'inet' ? AF_INET : AF_UNSPEC;
  const attrs: Attr[] = [];
  let dstLen = 0;
  if (spec.dst !== 'default') {
    const dst = parsePrefix(spec.dst, 'route destination');
    family = dst.family;
    dstLen = dst.prefixLen;
    attrs.push(attr.bytes(RTA_DST, dst.bytes));
  }
  if (spec.gateway !== undefined) {
    const gw = parseIp(spec.gateway, 'gateway');
    if (family !== AF_UNSPEC && gw.family !== family) {
      throw new InvalidArgumentError(`gateway ${spec.gateway} is not of the same family as route ${spec.dst}`);
    }
    family = gw.family;
    attrs.push(attr.bytes(RTA_GATEWAY, gw.bytes));
  }
  if (family === AF_UNSPEC) family = AF_INET;
  if (spec.src !== undefined) attrs.push(attr.bytes(RTA_PREFSRC, parseIp(spec.src, 'route source').bytes));
  if (spec.oif !== undefined) attrs.push(attr.u32(RTA_OIF, checkIndex(spec.oif, 'route device index')));
  if (spec.priority !== undefined) attrs.push(attr.u32(RTA_PRIORITY, spec.priority));
  const table = spec.table ?? RT_TABLE_MAIN;
  // Tables above 255 only fit in RTA_TABLE; rtm_table then says RT_TABLE_UNSPEC.
  if (table > 255) attrs.push(attr.u32(RTA_TABLE, table));
  const scope = spec.scope
    ? SCOPES[spec.scope]
    : forDelete
      ? RT_SCOPE_NOWHERE // "any scope" for a deletion
      : spec.gateway === undefined && spec.oif !== undefined
        ? RT_SCOPE_LINK
        : RT_SCOPE_UNIVERSE;
  return {
    head: {
      family,
      dstLen,
      srcLen: 0,
      tos: 0,
      table: table > 255 ? RT_TABLE_UNSPEC : table,
      protocol: forDelete ? 0 : (spec.protocol ?? RTPROT_BOOT),
      scope,
      type: forDelete ? 0 : RTN_UNICAST,
      flags: spec.onlink ? RTNH_F_ONLINK : 0,
    },
    attrs,
  };
}

const routeObject = (spec: RouteSpec): string => `${spec.dst}${spec.gateway ? ` via ${spec.gateway}` : ''}`;

function routeChange(spec: RouteSpec, extraFlags: number): NetlinkRequest<void> {
  const { head, attrs } = routeParts(spec, false);
  return {
    type: RTM_NEWROUTE,
    object: routeObject(spec),
    dump: false,
    encode: (seq, f) => encodeMessage(RTM_NEWROUTE, f | NLM_F_CREATE | extraFlags, seq, rtmsg, head, attrs),
    parse: () => undefined,
  };
}

/** Equivalent to: `ip route add DST [via GW] [dev DEV]` */
export const routeAddRequest = (spec: RouteSpec): NetlinkRequest<void> => routeChange(spec, NLM_F_EXCL);

/** Equivalent to: `ip route replace DST [via GW] [dev DEV]` */
export const routeReplaceRequest = (spec: RouteSpec): NetlinkRequest<void> => routeChange(spec, NLM_F_REPLACE);

/** Equivalent to: `ip route del DST [via GW] [dev DEV]` */
export function routeDeleteRequest(spec: RouteSpec): NetlinkRequest<void> {
  const { head, attrs } = routeParts(spec, true);
  return {
    type: RTM_DELROUTE,
    object: routeObject(spec),
    dump: false,
    encode: (seq, f) => encodeMessage(RTM_DELROUTE, f, seq, rtmsg, head, attrs),
    parse: () => undefined,
  };
}

/** Equivalent to: `ip route show [table T]` (-4 or -6 with family); the main table unless told otherwise. */
export function routeListRequest(filter: { family?: 'inet' | 'inet6'; table?: number } = {}): NetlinkRequest<Route[]> {
  const family = filter.family === 'inet6' ? AF_INET6 : filter.family === 'inet' ? AF_INET : AF_UNSPEC;
  const table = filter.table ?? RT_TABLE_MAIN;
  const head: RtMsg = { family, dstLen: 0, srcLen: 0, tos: 0, table: 0, protocol: 0, scope: 0, type: 0, flags: 0 };
  return {
    type: RTM_GETROUTE,
    object: '',
    dump: true,
    encode: (seq, f) => encodeMessage(RTM_GETROUTE, f, seq, rtmsg, head, []),
    parse: (replies) =>
      replies
        .filter((m) => m.header.type === RTM_NEWROUTE)
        .map(decodeRoute)
        .filter((r) => r.table === table),
  };
}
