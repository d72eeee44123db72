/**
 * Links (network interfaces): request builders and the decoder of RTM_NEWLINK messages. The verbs that send
 * them live on Handle (handle.ts); builders are separate so that many can be pipelined in one send.
 */
import { InvalidArgumentError } from '../errors.js';
import { attr, type Attr } from './attributes.js';
import {
  AF_INET6,
  AF_UNSPEC,
  IFLA_AF_SPEC,
  IFLA_INET6_ADDR_GEN_MODE,
  IFLA_STATS64,
  IN6_ADDR_GEN_MODE_EUI64,
  IN6_ADDR_GEN_MODE_NONE,
  IN6_ADDR_GEN_MODE_RANDOM,
  IN6_ADDR_GEN_MODE_STABLE_PRIVACY,
  IFF_LOWER_UP,
  IFF_UP,
  IFLA_ADDRESS,
  IFLA_EXT_MASK,
  IFLA_GROUP,
  IFLA_IFALIAS,
  IFLA_IFNAME,
  IFLA_INFO_DATA,
  IFLA_INFO_KIND,
  IFLA_INFO_SLAVE_DATA,
  IFLA_INFO_SLAVE_KIND,
  IFLA_BRPORT_LEARNING,
  IFLA_BRPORT_MODE,
  IFLA_LINK,
  IFLA_LINKINFO,
  IFLA_LINK_NETNSID,
  IFLA_MASTER,
  IFLA_MTU,
  IFLA_OPERSTATE,
  IFLA_TXQLEN,
  NLM_F_CREATE,
  NLM_F_ECHO,
  NLM_F_EXCL,
  RTEXT_FILTER_SKIP_STATS,
  RTEXT_FILTER_VF,
  RTM_DELLINK,
  RTM_GETLINK,
  RTM_NEWLINK,
} from './constants.js';
import { checkKindSpec, decodeKindData, encodeKindData, netnsAttr, type LinkKindInfo, type LinkKindSpec, type NetnsTarget } from './link-kinds.js';
import { decodeFamily, encodeMessage, ifinfomsg, type IfInfoMsg, type NlMessage } from './message.js';
import type { NetlinkRequest } from './socket.js';
import { checkAlias, checkIndex, checkInterfaceName, checkMtu, formatMac, parseMac } from './validate.js';

const OPERSTATES = ['unknown', 'notpresent', 'down', 'lowerlayerdown', 'testing', 'dormant', 'up'] as const;
export type OperState = (typeof OPERSTATES)[number];

/** A link as the kernel reports it. */
export interface Link extends LinkKindInfo {
  readonly index: number;
  readonly name: string;
  /** IFF_* flags. */
  readonly flags: number;
  /** IFF_UP: administratively up. */
  readonly up: boolean;
  /** IFF_LOWER_UP: carrier. */
  readonly lowerUp: boolean;
  readonly operState: OperState;
  readonly mtu: number;
  readonly mac?: string;
  readonly kind?: string;
  /** The kind of the master it is enslaved to, e.g. "bridge". */
  readonly slaveKind?: string;
  readonly masterIndex?: number;
  readonly alias?: string;
  /** IFLA_LINK: for a veth, the peer's index (in the peer's namespace). */
  readonly linkIndex?: number;
  /** IFLA_LINK_NETNSID: set when linkIndex lives in another namespace. */
  readonly linkNetnsId?: number;
  readonly txqlen?: number;
  readonly group?: number;
  /** IFLA_STATS64: the link's packet counters. */
  readonly stats?: LinkStats;
}

export interface LinkStats {
  readonly rxPackets: number;
  readonly txPackets: number;
  readonly rxBytes: number;
  readonly txBytes: number;
  readonly rxDropped: number;
  readonly txDropped: number;
}

/** struct rtnl_link_stats64: u64 rx_packets, tx_packets, rx_bytes, tx_bytes, rx_errors, tx_errors, rx_dropped, tx_dropped... */
function decodeStats(b: Buffer | undefined): { stats?: LinkStats } {
  if (!b || b.length < 64) return {};
  const at = (i: number): number => Number(b.readBigUInt64LE(i * 8));
  return { stats: { rxPackets: at(0), txPackets: at(1), rxBytes: at(2), txBytes: at(3), rxDropped: at(6), txDropped: at(7) } };
}

export type LinkRef = number | string;

const refObject = (ref: LinkRef): string => (typeof ref === 'number' ? `index ${ref}` : ref);

/** ifinfomsg and attributes that point at a link by index or by name. */
function refParts(ref: LinkRef): { head: IfInfoMsg; attrs: Attr[] } {
  if (typeof ref === 'number') return { head: head(checkIndex(ref)), attrs: [] };
  return { head: head(0), attrs: [attr.str(IFLA_IFNAME, checkInterfaceName(ref))] };
}

const head = (index: number, flags = 0, change = 0): IfInfoMsg => ({ family: AF_UNSPEC, type: 0, index, flags, change });

export function decodeLink(msg: NlMessage): Link {
  const { head: h, attrs } = decodeFamily(msg, ifinfomsg);
  const info = attrs.nested(IFLA_LINKINFO);
  const kind = info?.str(IFLA_INFO_KIND);
  const slaveKind = info?.str(IFLA_INFO_SLAVE_KIND);
  const mac = attrs.bytes(IFLA_ADDRESS);
  const opts = {
    ...(mac && mac.length > 0 ? { mac: formatMac(mac) } : {}),
    ...(kind !== undefined ? { kind } : {}),
    ...(slaveKind !== undefined ? { slaveKind } : {}),
    ...optional('masterIndex', attrs.u32(IFLA_MASTER)),
    ...optional('alias', attrs.str(IFLA_IFALIAS)),
    ...optional('linkIndex', attrs.s32(IFLA_LINK)),
    ...optional('linkNetnsId', attrs.s32(IFLA_LINK_NETNSID)),
    ...optional('txqlen', attrs.u32(IFLA_TXQLEN)),
    ...optional('group', attrs.u32(IFLA_GROUP)),
    ...decodeStats(attrs.bytes(IFLA_STATS64)),
  };
  return {
    index: h.index,
    name: attrs.str(IFLA_IFNAME) ?? '',
    flags: h.flags,
    up: (h.flags & IFF_UP) !== 0,
    lowerUp: (h.flags & IFF_LOWER_UP) !== 0,
    operState: OPERSTATES[attrs.u8(IFLA_OPERSTATE) ?? 0] ?? 'unknown',
    mtu: attrs.u32(IFLA_MTU) ?? 0,
    ...opts,
    ...decodeKindData(kind, info?.nested(IFLA_INFO_DATA)),
  };
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

const linkMessages = (replies: readonly NlMessage[]): Link[] => replies.filter((m) => m.header.type === RTM_NEWLINK).map(decodeLink);

/** Options common to every new link. */
export interface LinkAttrs {
  readonly name: string;
  readonly mtu?: number;
  readonly mac?: string;
  /** IFLA_IFALIAS: tsnet tags the objects it owns with it. */
  readonly alias?: string;
  readonly masterIndex?: number;
  readonly up?: boolean;
  /** Create the link directly in this namespace. */
  readonly netns?: NetnsTarget;
  readonly txqlen?: number;
}

export type LinkAddSpec = LinkAttrs & LinkKindSpec;

/**
 * Creates a link (without its alias, which the kernel ignores at creation: Handle.linkAdd sets it by index). With NLM_F_ECHO the kernel answers with the new link, so the caller learns its index (and, for
 * a veth, its peer's index) without another round trip; kernels before 6.3 do not echo, and parse gives undefined.
 * Equivalent to: `ip link add NAME type KIND ...`
 */
export function linkAddRequest(spec: LinkAddSpec): NetlinkRequest<Link | undefined> {
  checkInterfaceName(spec.name);
  checkKindSpec(spec);
  const attrs: Attr[] = [attr.str(IFLA_IFNAME, spec.name)];
  if (spec.mtu !== undefined) attrs.push(attr.u32(IFLA_MTU, checkMtu(spec.mtu)));
  if (spec.mac !== undefined) attrs.push(attr.bytes(IFLA_ADDRESS, parseMac(spec.mac)));
  if (spec.masterIndex !== undefined) attrs.push(attr.u32(IFLA_MASTER, checkIndex(spec.masterIndex, 'master index')));
  if (spec.txqlen !== undefined) attrs.push(attr.u32(IFLA_TXQLEN, spec.txqlen));
  if (spec.netns) attrs.push(netnsAttr(spec.netns));
  if (spec.kind === 'macvlan') attrs.push(attr.u32(IFLA_LINK, checkIndex(spec.parentIndex, 'macvlan parent index')));
  const data = encodeKindData(spec);
  const info: Attr[] = [attr.str(IFLA_INFO_KIND, spec.kind)];
  if (data) info.push(attr.nested(IFLA_INFO_DATA, data));
  attrs.push(attr.nested(IFLA_LINKINFO, info));
  const up = spec.up ? IFF_UP : 0;
  return {
    type: RTM_NEWLINK,
    object: spec.name,
    dump: false,
    encode: (seq, flags) => encodeMessage(RTM_NEWLINK, flags | NLM_F_CREATE | NLM_F_EXCL | NLM_F_ECHO, seq, ifinfomsg, head(0, up, up), attrs),
    parse: (replies) => linkMessages(replies)[0],
  };
}

/** Changes to an existing link; only what is given is changed. */
export interface LinkChange {
  readonly up?: boolean;
  readonly name?: string;
  readonly mtu?: number;
  readonly mac?: string;
  readonly alias?: string;
  /** A master's index, or null to leave the master (nomaster). */
  readonly masterIndex?: number | null;
  readonly netns?: NetnsTarget;
  readonly group?: number;
  /**
   * How the kernel makes the link's IPv6 link-local address. "none" keeps a bridge port silent: no link-local
   * address, so no duplicate address detection or router solicitation flooded to every other port.
   */
  readonly ipv6AddrGenMode?: Ipv6AddrGenMode;
  /** Bridge port hairpin mode: frames may go back out of the port they came in by (a container reaching itself). */
  readonly hairpin?: boolean;
  /** Bridge port learning: whether the bridge learns the source addresses of frames coming in by the port. */
  readonly learning?: boolean;
}

export type Ipv6AddrGenMode = 'eui64' | 'none' | 'stable-privacy' | 'random';
const ADDR_GEN_MODES: Record<Ipv6AddrGenMode, number> = {
  eui64: IN6_ADDR_GEN_MODE_EUI64,
  none: IN6_ADDR_GEN_MODE_NONE,
  'stable-privacy': IN6_ADDR_GEN_MODE_STABLE_PRIVACY,
  random: IN6_ADDR_GEN_MODE_RANDOM,
};

/** Equivalent to: `ip link set DEV [up|down] [name N] [mtu M] [address A] [alias S] [master B|nomaster] [netns NS]` */
export function linkSetRequest(ref: LinkRef, change: LinkChange): NetlinkRequest<void> {
  const { head: h, attrs } = refParts(ref);
  if (change.name !== undefined) {
    // Renaming needs the index: with a name only, the kernel would take IFLA_IFNAME as the link to look up.
    if (typeof ref !== 'number') throw new TypeError('linkSet: renaming needs the link index');
    attrs.push(attr.str(IFLA_IFNAME, checkInterfaceName(change.name, 'new interface name')));
  }
  if (change.mtu !== undefined) attrs.push(attr.u32(IFLA_MTU, checkMtu(change.mtu)));
  if (change.mac !== undefined) attrs.push(attr.bytes(IFLA_ADDRESS, parseMac(change.mac)));
  if (change.alias !== undefined) attrs.push(attr.str(IFLA_IFALIAS, checkAlias(change.alias)));
  if (change.masterIndex !== undefined) {
    attrs.push(attr.u32(IFLA_MASTER, change.masterIndex === null ? 0 : checkIndex(change.masterIndex, 'master index')));
  }
  if (change.group !== undefined) attrs.push(attr.u32(IFLA_GROUP, change.group));
  if (change.netns) attrs.push(netnsAttr(change.netns));
  if (change.ipv6AddrGenMode !== undefined) {
    const mode = ADDR_GEN_MODES[change.ipv6AddrGenMode];
    if (mode === undefined)
      throw new InvalidArgumentError(`IPv6 address generation mode "${change.ipv6AddrGenMode}" is not one of ${Object.keys(ADDR_GEN_MODES).join(', ')}`);
    attrs.push(attr.nested(IFLA_AF_SPEC, [attr.nested(AF_INET6, [attr.u8(IFLA_INET6_ADDR_GEN_MODE, mode)])]));
  }
  const port: Attr[] = [];
  if (change.hairpin !== undefined) port.push(attr.u8(IFLA_BRPORT_MODE, change.hairpin ? 1 : 0));
  if (change.learning !== undefined) port.push(attr.u8(IFLA_BRPORT_LEARNING, change.learning ? 1 : 0));
  if (port.length > 0) attrs.push(attr.nested(IFLA_LINKINFO, [attr.str(IFLA_INFO_SLAVE_KIND, 'bridge'), attr.nested(IFLA_INFO_SLAVE_DATA, port)]));
  const flags = change.up === undefined ? 0 : change.up ? IFF_UP : 0;
  const mask = change.up === undefined ? 0 : IFF_UP;
  return {
    type: RTM_NEWLINK,
    object: refObject(ref),
    dump: false,
    encode: (seq, f) => encodeMessage(RTM_NEWLINK, f, seq, ifinfomsg, { ...h, flags, change: mask }, attrs),
    parse: () => undefined,
  };
}

/** Equivalent to: `ip link del DEV` */
export function linkDeleteRequest(ref: LinkRef): NetlinkRequest<void> {
  const { head: h, attrs } = refParts(ref);
  return {
    type: RTM_DELLINK,
    object: refObject(ref),
    dump: false,
    encode: (seq, f) => encodeMessage(RTM_DELLINK, f, seq, ifinfomsg, h, attrs),
    parse: () => undefined,
  };
}

/** Deletes every link of a device group in one request, paying the kernel's RCU wait once for all of them. */
export function linkDeleteGroupRequest(group: number): NetlinkRequest<void> {
  return {
    type: RTM_DELLINK,
    object: `group ${group}`,
    dump: false,
    encode: (seq, f) => encodeMessage(RTM_DELLINK, f, seq, ifinfomsg, head(0), [attr.u32(IFLA_GROUP, group)]),
    parse: () => undefined,
  };
}

/** Equivalent to: `ip link show DEV` */
export function linkGetRequest(ref: LinkRef): NetlinkRequest<Link> {
  const { head: h, attrs } = refParts(ref);
  attrs.push(attr.u32(IFLA_EXT_MASK, RTEXT_FILTER_VF | RTEXT_FILTER_SKIP_STATS));
  return {
    type: RTM_GETLINK,
    object: refObject(ref),
    dump: false,
    encode: (seq, f) => encodeMessage(RTM_GETLINK, f, seq, ifinfomsg, h, attrs),
    parse: (replies) => {
      const link = linkMessages(replies)[0];
      if (!link) throw new RangeError(`RTM_GETLINK ${refObject(ref)}: the kernel sent no link`);
      return link;
    },
  };
}

/** Equivalent to: `ip link show` */
export function linkListRequest(): NetlinkRequest<Link[]> {
  return {
    type: RTM_GETLINK,
    object: '',
    dump: true,
    encode: (seq, f) => encodeMessage(RTM_GETLINK, f, seq, ifinfomsg, head(0), [attr.u32(IFLA_EXT_MASK, RTEXT_FILTER_VF | RTEXT_FILTER_SKIP_STATS)]),
    parse: linkMessages,
  };
}
