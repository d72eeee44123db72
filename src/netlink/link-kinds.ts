/**
 * The kinds of link tsnet creates, and how each one's IFLA_INFO_DATA is encoded and decoded:
 * veth (the peer, possibly in another namespace), bridge, dummy, vxlan, macvlan.
 */
import { attr, encodeAttrs, type Attr, type AttrTable } from './attributes.js';
import {
  IFLA_ADDRESS,
  IFLA_BR_STP_STATE,
  IFLA_BR_VLAN_FILTERING,
  IFLA_IFNAME,
  IFLA_MACVLAN_MODE,
  IFLA_MTU,
  IFLA_NET_NS_FD,
  IFLA_NET_NS_PID,
  IFLA_VXLAN_GROUP,
  IFLA_VXLAN_GROUP6,
  IFLA_VXLAN_ID,
  IFLA_VXLAN_LEARNING,
  IFLA_VXLAN_PROXY,
  IFLA_VXLAN_LINK,
  IFLA_VXLAN_LOCAL,
  IFLA_VXLAN_LOCAL6,
  IFLA_VXLAN_PORT,
  IFLA_VXLAN_TTL,
  MACVLAN_MODE_BRIDGE,
  MACVLAN_MODE_PASSTHRU,
  MACVLAN_MODE_PRIVATE,
  MACVLAN_MODE_SOURCE,
  MACVLAN_MODE_VEPA,
  AF_INET,
  AF_UNSPEC,
  VETH_INFO_PEER,
} from './constants.js';
import { InvalidArgumentError } from '../errors.js';
import { ifinfomsg } from './message.js';
import { checkInterfaceName, checkMtu, formatIp, parseIp, parseMac } from './validate.js';

/** Where a link goes: a namespace given by an open file descriptor, or the namespace of a process. */
export type NetnsTarget = { readonly fd: number } | { readonly pid: number };

export const netnsAttr = (target: NetnsTarget): Attr => ('fd' in target ? attr.u32(IFLA_NET_NS_FD, target.fd) : attr.u32(IFLA_NET_NS_PID, target.pid));

export interface VethSpec {
  readonly kind: 'veth';
  readonly peer: {
    readonly name: string;
    /** Create the peer directly in this namespace (no move afterwards: moving costs 16-24 ms). */
    readonly netns?: NetnsTarget;
    readonly mac?: string;
    readonly mtu?: number;
  };
}
export interface BridgeSpec {
  readonly kind: 'bridge';
  readonly stp?: boolean;
  readonly vlanFiltering?: boolean;
}
export interface DummySpec {
  readonly kind: 'dummy';
}
export interface VxlanSpec {
  readonly kind: 'vxlan';
  /** VXLAN network identifier, 0 to 2^24-1. */
  readonly vni: number;
  readonly port?: number;
  readonly local?: string;
  readonly group?: string;
  /** Index of the underlying device. */
  readonly parentIndex?: number;
  readonly learning?: boolean;
  /** Answers ARP and neighbour solicitations from the device's neighbour table (no flooding to remote hosts). */
  readonly proxy?: boolean;
  readonly ttl?: number;
}
export type MacvlanMode = 'private' | 'vepa' | 'bridge' | 'passthru' | 'source';
export interface MacvlanSpec {
  readonly kind: 'macvlan';
  /** Index of the parent device (IFLA_LINK). */
  readonly parentIndex: number;
  readonly mode?: MacvlanMode;
}
export type LinkKindSpec = VethSpec | BridgeSpec | DummySpec | VxlanSpec | MacvlanSpec;

const MACVLAN_MODES: Record<MacvlanMode, number> = {
  private: MACVLAN_MODE_PRIVATE,
  vepa: MACVLAN_MODE_VEPA,
  bridge: MACVLAN_MODE_BRIDGE,
  passthru: MACVLAN_MODE_PASSTHRU,
  source: MACVLAN_MODE_SOURCE,
};

/** Validates a kind's options; throws InvalidArgumentError before anything is sent. */
export function checkKindSpec(spec: LinkKindSpec): void {
  switch (spec.kind) {
    case 'veth':
      checkInterfaceName(spec.peer.name, 'veth peer name');
      if (spec.peer.mac !== undefined) parseMac(spec.peer.mac);
      if (spec.peer.mtu !== undefined) checkMtu(spec.peer.mtu);
      return;
    case 'vxlan':
      if (!Number.isInteger(spec.vni) || spec.vni < 0 || spec.vni > 0xffffff) {
        throw new InvalidArgumentError(`VXLAN id ${spec.vni} is out of range: it must be from 0 to 16777215`);
      }
      if (spec.port !== undefined && !(Number.isInteger(spec.port) && spec.port > 0 && spec.port <= 65535)) {
        throw new InvalidArgumentError(`VXLAN port ${spec.port} is out of range: it must be from 1 to 65535`);
      }
      if (spec.local !== undefined) parseIp(spec.local, 'VXLAN local address');
      if (spec.group !== undefined) parseIp(spec.group, 'VXLAN remote or group address');
      return;
    case 'macvlan':
      if (spec.mode !== undefined && !(spec.mode in MACVLAN_MODES)) {
        throw new InvalidArgumentError(`macvlan mode "${String(spec.mode)}" is not one of ${Object.keys(MACVLAN_MODES).join(', ')}`);
      }
      return;
    case 'bridge':
    case 'dummy':
      return;
  }
}

/** IFLA_INFO_DATA for a kind, or undefined when it has none. */
export function encodeKindData(spec: LinkKindSpec): Attr[] | undefined {
  switch (spec.kind) {
    case 'veth': {
      // VETH_INFO_PEER holds a whole struct ifinfomsg followed by the peer's own link attributes.
      const head = Buffer.alloc(ifinfomsg.size);
      ifinfomsg.encode({ family: AF_UNSPEC, type: 0, index: 0, flags: 0, change: 0 }, head, 0);
      const peerAttrs: Attr[] = [attr.str(IFLA_IFNAME, spec.peer.name)];
      if (spec.peer.netns) peerAttrs.push(netnsAttr(spec.peer.netns));
      if (spec.peer.mac !== undefined) peerAttrs.push(attr.bytes(IFLA_ADDRESS, parseMac(spec.peer.mac)));
      if (spec.peer.mtu !== undefined) peerAttrs.push(attr.u32(IFLA_MTU, spec.peer.mtu));
      return [attr.bytes(VETH_INFO_PEER, Buffer.concat([head, encodeAttrs(peerAttrs)]))];
    }
    case 'bridge': {
      const data: Attr[] = [];
      if (spec.stp !== undefined) data.push(attr.u32(IFLA_BR_STP_STATE, spec.stp ? 1 : 0));
      if (spec.vlanFiltering !== undefined) data.push(attr.u8(IFLA_BR_VLAN_FILTERING, spec.vlanFiltering ? 1 : 0));
      return data.length ? data : undefined;
    }
    case 'dummy':
      return undefined;
    case 'vxlan': {
      const data: Attr[] = [attr.u32(IFLA_VXLAN_ID, spec.vni)];
      if (spec.port !== undefined) data.push(attr.be16(IFLA_VXLAN_PORT, spec.port));
      if (spec.local !== undefined) {
        const ip = parseIp(spec.local);
        data.push(attr.bytes(ip.family === AF_INET ? IFLA_VXLAN_LOCAL : IFLA_VXLAN_LOCAL6, ip.bytes));
      }
      if (spec.group !== undefined) {
        const ip = parseIp(spec.group);
        data.push(attr.bytes(ip.family === AF_INET ? IFLA_VXLAN_GROUP : IFLA_VXLAN_GROUP6, ip.bytes));
      }
      if (spec.parentIndex !== undefined) data.push(attr.u32(IFLA_VXLAN_LINK, spec.parentIndex));
      if (spec.learning !== undefined) data.push(attr.u8(IFLA_VXLAN_LEARNING, spec.learning ? 1 : 0));
      if (spec.proxy !== undefined) data.push(attr.u8(IFLA_VXLAN_PROXY, spec.proxy ? 1 : 0));
      if (spec.ttl !== undefined) data.push(attr.u8(IFLA_VXLAN_TTL, spec.ttl));
      return data;
    }
    case 'macvlan':
      return [attr.u32(IFLA_MACVLAN_MODE, MACVLAN_MODES[spec.mode ?? 'bridge'])];
  }
}

/** Kind-specific details decoded from IFLA_INFO_DATA. */
export interface LinkKindInfo {
  readonly bridge?: { readonly stp: boolean; readonly vlanFiltering: boolean };
  readonly vxlan?: {
    readonly vni: number;
    readonly port?: number;
    readonly local?: string;
    readonly group?: string;
    readonly learning?: boolean;
    readonly proxy?: boolean;
  };
  readonly macvlan?: { readonly mode: MacvlanMode | 'unknown' };
}

export function decodeKindData(kind: string | undefined, data: AttrTable | undefined): LinkKindInfo {
  if (!data) return {};
  switch (kind) {
    case 'bridge':
      return { bridge: { stp: (data.u32(IFLA_BR_STP_STATE) ?? 0) !== 0, vlanFiltering: (data.u8(IFLA_BR_VLAN_FILTERING) ?? 0) !== 0 } };
    case 'vxlan': {
      const local = data.bytes(IFLA_VXLAN_LOCAL) ?? data.bytes(IFLA_VXLAN_LOCAL6);
      const group = data.bytes(IFLA_VXLAN_GROUP) ?? data.bytes(IFLA_VXLAN_GROUP6);
      const port = data.be16(IFLA_VXLAN_PORT);
      const learning = data.u8(IFLA_VXLAN_LEARNING);
      const proxy = data.u8(IFLA_VXLAN_PROXY);
      return {
        vxlan: {
          vni: data.u32(IFLA_VXLAN_ID) ?? 0,
          ...(port !== undefined ? { port } : {}),
          ...(local ? { local: formatIp(local) } : {}),
          ...(group ? { group: formatIp(group) } : {}),
          ...(learning !== undefined ? { learning: learning !== 0 } : {}),
          ...(proxy !== undefined ? { proxy: proxy !== 0 } : {}),
        },
      };
    }
    case 'macvlan': {
      const mode = data.u32(IFLA_MACVLAN_MODE);
      const name = (Object.keys(MACVLAN_MODES) as MacvlanMode[]).find((m) => MACVLAN_MODES[m] === mode);
      return { macvlan: { mode: name ?? 'unknown' } };
    }
    default:
      return {};
  }
}
