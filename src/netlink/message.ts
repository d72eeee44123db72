/**
 * Netlink message codec: the nlmsghdr framing, the rtnetlink family headers (ifinfomsg, ifaddrmsg, rtmsg, ndmsg),
 * multipart streams and NLMSG_ERROR acknowledgements with extended ACK TLVs. Pure: no I/O.
 */
import { AttrTable, align4, attrsSize, writeAttrs, type Attr } from './attributes.js';
import { NLMSGERR_ATTR_MSG, NLMSGERR_ATTR_OFFS, NLM_F_ACK_TLVS, NLM_F_CAPPED } from './constants.js';

/** struct nlmsghdr { __u32 nlmsg_len; __u16 nlmsg_type; __u16 nlmsg_flags; __u32 nlmsg_seq; __u32 nlmsg_pid; } */
export const NLMSG_HDRLEN = 16;

export interface NlMsgHeader {
  readonly len: number;
  readonly type: number;
  readonly flags: number;
  readonly seq: number;
  readonly pid: number;
}

export interface NlMessage {
  readonly header: NlMsgHeader;
  /** The bytes after the header, up to nlmsg_len. */
  readonly payload: Buffer;
}

/** A fixed family header (ifinfomsg, ...) followed by attributes. */
export interface FamilyStruct<T> {
  readonly size: number;
  encode(value: T, buf: Buffer, offset: number): void;
  decode(buf: Buffer, offset: number): T;
}

/** struct ifinfomsg { u8 ifi_family; u8 pad; u16 ifi_type; s32 ifi_index; u32 ifi_flags; u32 ifi_change; } */
export interface IfInfoMsg {
  family: number;
  type: number;
  index: number;
  flags: number;
  change: number;
}
export const ifinfomsg: FamilyStruct<IfInfoMsg> = {
  size: 16,
  encode(v, buf, o) {
    buf.writeUInt8(v.family, o);
    buf.writeUInt8(0, o + 1);
    buf.writeUInt16LE(v.type, o + 2);
    buf.writeInt32LE(v.index, o + 4);
    buf.writeUInt32LE(v.flags >>> 0, o + 8);
    buf.writeUInt32LE(v.change >>> 0, o + 12);
  },
  decode: (buf, o) => ({
    family: buf.readUInt8(o),
    type: buf.readUInt16LE(o + 2),
    index: buf.readInt32LE(o + 4),
    flags: buf.readUInt32LE(o + 8),
    change: buf.readUInt32LE(o + 12),
  }),
};

/** struct ifaddrmsg { u8 ifa_family; u8 ifa_prefixlen; u8 ifa_flags; u8 ifa_scope; u32 ifa_index; } */
export interface IfAddrMsg {
  family: number;
  prefixLen: number;
  flags: number;
  scope: number;
  index: number;
}
export const ifaddrmsg: FamilyStruct<IfAddrMsg> = {
  size: 8,
  encode(v, buf, o) {
    buf.writeUInt8(v.family, o);
    buf.writeUInt8(v.prefixLen, o + 1);
    buf.writeUInt8(v.flags, o + 2);
    buf.writeUInt8(v.scope, o + 3);
    buf.writeUInt32LE(v.index, o + 4);
  },
  decode: (buf, o) => ({
    family: buf.readUInt8(o),
    prefixLen: buf.readUInt8(o + 1),
    flags: buf.readUInt8(o + 2),
    scope: buf.readUInt8(o + 3),
    index: buf.readUInt32LE(o + 4),
  }),
};

/** struct rtmsg { u8 family, dst_len, src_len, tos, table, protocol, scope, type; u32 flags; } */
export interface RtMsg {
  family: number;
  dstLen: number;
  srcLen: number;
  tos: number;
  table: number;
  protocol: number;
  scope: number;
  type: number;
  flags: number;
}
export const rtmsg: FamilyStruct<RtMsg> = {
  size: 12,
  encode(v, buf, o) {
    buf.writeUInt8(v.family, o);
    buf.writeUInt8(v.dstLen, o + 1);
    buf.writeUInt8(v.srcLen, o + 2);
    buf.writeUInt8(v.tos, o + 3);
    buf.writeUInt8(v.table, o + 4);
    buf.writeUInt8(v.protocol, o + 5);
    buf.writeUInt8(v.scope, o + 6);
    buf.writeUInt8(v.type, o + 7);
    buf.writeUInt32LE(v.flags >>> 0, o + 8);
  },
  decode: (buf, o) => ({
    family: buf.readUInt8(o),
    dstLen: buf.readUInt8(o + 1),
    srcLen: buf.readUInt8(o + 2),
    tos: buf.readUInt8(o + 3),
    table: buf.readUInt8(o + 4),
    protocol: buf.readUInt8(o + 5),
    scope: buf.readUInt8(o + 6),
    type: buf.readUInt8(o + 7),
    flags: buf.readUInt32LE(o + 8),
  }),
};

/** struct ndmsg { u8 ndm_family; u8 pad1; u16 pad2; s32 ndm_ifindex; u16 ndm_state; u8 ndm_flags; u8 ndm_type; } */
export interface NdMsg {
  family: number;
  index: number;
  state: number;
  flags: number;
  type: number;
}
export const ndmsg: FamilyStruct<NdMsg> = {
  size: 12,
  encode(v, buf, o) {
    buf.writeUInt8(v.family, o);
    buf.fill(0, o + 1, o + 4);
    buf.writeInt32LE(v.index, o + 4);
    buf.writeUInt16LE(v.state, o + 8);
    buf.writeUInt8(v.flags, o + 10);
    buf.writeUInt8(v.type, o + 11);
  },
  decode: (buf, o) => ({
    family: buf.readUInt8(o),
    index: buf.readInt32LE(o + 4),
    state: buf.readUInt16LE(o + 8),
    flags: buf.readUInt8(o + 10),
    type: buf.readUInt8(o + 11),
  }),
};

/** The bytes of one request: header, family struct, attributes. */
export function encodeMessage<T>(type: number, flags: number, seq: number, struct: FamilyStruct<T>, value: T, attrs: readonly Attr[] = []): Buffer {
  const len = NLMSG_HDRLEN + align4(struct.size) + attrsSize(attrs);
  const buf = Buffer.alloc(len);
  buf.writeUInt32LE(len, 0);
  buf.writeUInt16LE(type, 4);
  buf.writeUInt16LE(flags, 6);
  buf.writeUInt32LE(seq >>> 0, 8);
  buf.writeUInt32LE(0, 12);
  struct.encode(value, buf, NLMSG_HDRLEN);
  writeAttrs(buf, NLMSG_HDRLEN + align4(struct.size), attrs);
  return buf;
}

/** Splits one received datagram into its messages. */
export function parseMessages(buf: Buffer): NlMessage[] {
  const out: NlMessage[] = [];
  let offset = 0;
  while (offset + NLMSG_HDRLEN <= buf.length) {
    const len = buf.readUInt32LE(offset);
    if (len < NLMSG_HDRLEN || offset + len > buf.length) {
      throw new RangeError(`malformed netlink message at offset ${offset}: length ${len}, ${buf.length - offset} bytes left`);
    }
    const header: NlMsgHeader = {
      len,
      type: buf.readUInt16LE(offset + 4),
      flags: buf.readUInt16LE(offset + 6),
      seq: buf.readUInt32LE(offset + 8),
      pid: buf.readUInt32LE(offset + 12),
    };
    out.push({ header, payload: buf.subarray(offset + NLMSG_HDRLEN, offset + len) });
    offset += align4(len);
  }
  return out;
}

/** Decodes a family message: its fixed struct and the attribute table after it. */
export function decodeFamily<T>(msg: NlMessage, struct: FamilyStruct<T>): { head: T; attrs: AttrTable } {
  if (msg.payload.length < struct.size) {
    throw new RangeError(`netlink message type ${msg.header.type} too short: ${msg.payload.length} bytes`);
  }
  return { head: struct.decode(msg.payload, 0), attrs: AttrTable.parse(msg.payload, align4(struct.size)) };
}

/** An NLMSG_ERROR payload: errno 0 is an ACK; extack carries the kernel's explanation of a refusal. */
export interface NlError {
  /** Negative errno, or 0 for an acknowledgement. */
  readonly error: number;
  /** Header of the request this answers. */
  readonly request: NlMsgHeader;
  readonly extackMessage?: string;
  readonly extackOffset?: number;
}

/** struct nlmsgerr { int error; struct nlmsghdr msg; } + (unless capped) the request payload + ACK TLVs. */
export function decodeError(msg: NlMessage): NlError {
  const p = msg.payload;
  if (p.length < 4 + NLMSG_HDRLEN) throw new RangeError(`truncated NLMSG_ERROR: ${p.length} bytes`);
  const error = p.readInt32LE(0);
  const request: NlMsgHeader = {
    len: p.readUInt32LE(4),
    type: p.readUInt16LE(8),
    flags: p.readUInt16LE(10),
    seq: p.readUInt32LE(12),
    pid: p.readUInt32LE(16),
  };
  if (!(msg.header.flags & NLM_F_ACK_TLVS)) return { error, request };
  const capped = (msg.header.flags & NLM_F_CAPPED) !== 0;
  const tlvStart = 4 + (capped ? NLMSG_HDRLEN : align4(request.len));
  if (tlvStart > p.length) return { error, request };
  const tlvs = AttrTable.parse(p, tlvStart);
  const extackMessage = tlvs.str(NLMSGERR_ATTR_MSG);
  const extackOffset = tlvs.u32(NLMSGERR_ATTR_OFFS);
  return {
    error,
    request,
    ...(extackMessage !== undefined ? { extackMessage } : {}),
    ...(extackOffset !== undefined ? { extackOffset } : {}),
  };
}
