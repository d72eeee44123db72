/**
 * Traffic control over rtnetlink, as `tc` does it: qdiscs (TBF for a link's rate, clsact for filters) and cls_bpf
 * filters in direct-action mode (a program that passes or drops each packet), and the qdiscs' counters. Pure
 * encoding and decoding: requests for a NetlinkSocket.
 */
import { AF_UNSPEC, NLM_F_CREATE, NLM_F_REPLACE } from './constants.js';
import { attr, type Attr } from './attributes.js';
import { decodeFamily, encodeMessage, type FamilyStruct, type NlMessage } from './message.js';
import type { NetlinkRequest } from './socket.js';
import { checkIndex } from './validate.js';

export const RTM_NEWQDISC = 36;
export const RTM_DELQDISC = 37;
export const RTM_GETQDISC = 38;
export const RTM_NEWTFILTER = 44;
export const RTM_DELTFILTER = 45;

const TCA_KIND = 1;
const TCA_OPTIONS = 2;
const TCA_STATS2 = 7;
const TCA_STATS_BASIC = 1;
const TCA_STATS_QUEUE = 3;

/** Parents and handles: the root of a link's egress, the clsact qdisc and its egress hook. */
export const TC_H_ROOT = 0xffffffff;
export const TC_H_CLSACT = 0xfffffff1;
export const CLSACT_HANDLE = 0xffff0000;
export const CLSACT_INGRESS = 0xfffffff2;
export const CLSACT_EGRESS = 0xfffffff3;

const TCA_TBF_PARMS = 1;
const TCA_TBF_RATE64 = 4;
const TCA_TBF_BURST = 6;
const TC_LINKLAYER_ETHERNET = 1;

const TCA_BPF_FD = 6;
const TCA_BPF_NAME = 7;
const TCA_BPF_FLAGS = 8;
const TCA_BPF_FLAG_ACT_DIRECT = 1;
const ETH_P_ALL = 0x0003;

/** struct tcmsg { u8 family; u8 pad1; u16 pad2; s32 ifindex; u32 handle; u32 parent; u32 info; } */
export interface TcMsg {
  index: number;
  handle: number;
  parent: number;
  info: number;
}
export const tcmsg: FamilyStruct<TcMsg> = {
  size: 20,
  encode(v, buf, o) {
    buf.writeUInt8(AF_UNSPEC, o);
    buf.fill(0, o + 1, o + 4);
    buf.writeInt32LE(v.index, o + 4);
    buf.writeUInt32LE(v.handle >>> 0, o + 8);
    buf.writeUInt32LE(v.parent >>> 0, o + 12);
    buf.writeUInt32LE(v.info >>> 0, o + 16);
  },
  decode: (buf, o) => ({ index: buf.readInt32LE(o + 4), handle: buf.readUInt32LE(o + 8), parent: buf.readUInt32LE(o + 12), info: buf.readUInt32LE(o + 16) }),
};

export interface Qdisc {
  readonly index: number;
  readonly kind: string;
  readonly handle: number;
  readonly parent: number;
  readonly bytes: number;
  readonly packets: number;
  readonly drops: number;
  readonly overlimits: number;
}

export function decodeQdisc(msg: NlMessage): Qdisc {
  const { head, attrs } = decodeFamily(msg, tcmsg);
  const stats = attrs.nested(TCA_STATS2);
  const basic = stats?.bytes(TCA_STATS_BASIC);
  const queue = stats?.bytes(TCA_STATS_QUEUE);
  return {
    index: head.index,
    kind: attrs.str(TCA_KIND) ?? '',
    handle: head.handle,
    parent: head.parent,
    bytes: basic && basic.length >= 8 ? Number(basic.readBigUInt64LE(0)) : 0,
    packets: basic && basic.length >= 12 ? basic.readUInt32LE(8) : 0,
    drops: queue && queue.length >= 12 ? queue.readUInt32LE(8) : 0,
    overlimits: queue && queue.length >= 20 ? queue.readUInt32LE(16) : 0,
  };
}

/** Equivalent to: `tc -s qdisc show [dev DEV]` */
export function qdiscListRequest(index = 0): NetlinkRequest<Qdisc[]> {
  return {
    type: RTM_GETQDISC,
    object: index ? `index ${index}` : '',
    dump: true,
    encode: (seq, f) => encodeMessage(RTM_GETQDISC, f, seq, tcmsg, { index, handle: 0, parent: 0, info: 0 }),
    parse: (replies) =>
      replies
        .filter((m) => m.header.type === RTM_NEWQDISC)
        .map(decodeQdisc)
        .filter((q) => !index || q.index === index),
  };
}

/** A qdisc request; options are attributes, or raw bytes where the kind's options start with a struct (netem's). */
export function qdiscRequest(
  type: number,
  flags: number,
  index: number,
  parent: number,
  handle: number,
  kind: string,
  options: readonly Attr[] | Buffer | undefined,
  object: string,
): NetlinkRequest<void> {
  checkIndex(index, 'qdisc interface index');
  return {
    type,
    object,
    dump: false,
    // A deletion names no kind: one that differs from the qdisc's own is refused (EINVAL).
    encode: (seq, f) =>
      encodeMessage(type, f | flags, seq, tcmsg, { index, handle, parent, info: 0 }, [
        ...(kind ? [attr.str(TCA_KIND, kind)] : []),
        ...(options ? [Buffer.isBuffer(options) ? attr.bytes(TCA_OPTIONS, options) : attr.nested(TCA_OPTIONS, options as readonly Attr[])] : []),
      ]),
    parse: () => undefined,
  };
}

export interface TbfSpec {
  /** Bits per second. */
  readonly rate: number;
  /** Bytes the bucket holds: what may leave at once above the rate. */
  readonly burst: number;
  /** Bytes that may wait in the queue. */
  readonly limit: number;
}

/** struct tc_ratespec { u8 cell_log; u8 linklayer; u16 overhead; s16 cell_align; u16 mpu; u32 rate; } */
function ratespec(buf: Buffer, o: number, bytesPerSecond: number): void {
  buf.writeUInt8(0, o);
  buf.writeUInt8(TC_LINKLAYER_ETHERNET, o + 1); // known: the kernel needs no rate table
  buf.writeUInt32LE(Math.min(bytesPerSecond, 0xffffffff), o + 8);
}

/** TBF's options: tc_tbf_qopt { rate, peakrate, limit, buffer, mtu }, the burst in bytes, a 64-bit rate when it must. */
export function tbfOptions(spec: TbfSpec): Attr[] {
  const bytesPerSecond = Math.floor(spec.rate / 8);
  const qopt = Buffer.alloc(36);
  ratespec(qopt, 0, bytesPerSecond);
  qopt.writeUInt32LE(spec.limit, 24);
  return [
    attr.bytes(TCA_TBF_PARMS, qopt),
    ...(bytesPerSecond > 0xffffffff ? [{ type: TCA_TBF_RATE64, value: u64(bytesPerSecond) }] : []),
    attr.u32(TCA_TBF_BURST, spec.burst),
  ];
}

const u64 = (v: number): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(v));
  return b;
};

/**
 * Equivalent to: `tc qdisc replace dev DEV root handle 1: tbf rate R burst B limit L`, or with a parent (a netem's
 * class, so that the rate applies after the delay) `... parent 2:1 handle 1: tbf ...`.
 */
export function tbfReplaceRequest(index: number, spec: TbfSpec, parent = TC_H_ROOT): NetlinkRequest<void> {
  return qdiscRequest(RTM_NEWQDISC, NLM_F_CREATE | NLM_F_REPLACE, index, parent, 0x10000, 'tbf', tbfOptions(spec), `tbf on index ${index}`);
}

/** Equivalent to: `tc qdisc del dev DEV parent PARENT` (a classful qdisc's child) */
export function childQdiscDeleteRequest(index: number, parent: number): NetlinkRequest<void> {
  return qdiscRequest(RTM_DELQDISC, 0, index, parent, 0, '', undefined, `qdisc below ${(parent >>> 16).toString(16)}: on index ${index}`);
}

/** Equivalent to: `tc qdisc del dev DEV root` (the link goes back to its default qdisc) */
export function rootQdiscDeleteRequest(index: number): NetlinkRequest<void> {
  return qdiscRequest(RTM_DELQDISC, 0, index, TC_H_ROOT, 0, '', undefined, `root qdisc of index ${index}`);
}

/** Equivalent to: `tc qdisc replace dev DEV clsact` */
export function clsactReplaceRequest(index: number): NetlinkRequest<void> {
  return qdiscRequest(RTM_NEWQDISC, NLM_F_CREATE | NLM_F_REPLACE, index, TC_H_CLSACT, CLSACT_HANDLE, 'clsact', undefined, `clsact on index ${index}`);
}

/** Equivalent to: `tc filter replace dev DEV ingress|egress prio PRIO handle 1 bpf direct-action fd FD name NAME` */
export function bpfFilterReplaceRequest(index: number, hook: 'ingress' | 'egress', fd: number, name: string, prio = 1): NetlinkRequest<void> {
  checkIndex(index, 'filter interface index');
  const info = ((prio & 0xffff) << 16) | ((ETH_P_ALL >> 8) | ((ETH_P_ALL & 0xff) << 8)); // protocol in network order
  return {
    type: RTM_NEWTFILTER,
    object: `bpf filter ${name} on index ${index}`,
    dump: false,
    encode: (seq, f) =>
      encodeMessage(
        RTM_NEWTFILTER,
        f | NLM_F_CREATE | NLM_F_REPLACE,
        seq,
        tcmsg,
        { index, handle: 1, parent: hook === 'ingress' ? CLSACT_INGRESS : CLSACT_EGRESS, info },
        [
          attr.str(TCA_KIND, 'bpf'),
          attr.nested(TCA_OPTIONS, [attr.u32(TCA_BPF_FD, fd), attr.str(TCA_BPF_NAME, name), attr.u32(TCA_BPF_FLAGS, TCA_BPF_FLAG_ACT_DIRECT)]),
        ],
      ),
    parse: () => undefined,
  };
}

/** Equivalent to: `tc filter del dev DEV ingress|egress prio PRIO` (every filter of that priority on the hook) */
export function filterDeleteRequest(index: number, hook: 'ingress' | 'egress', prio: number): NetlinkRequest<void> {
  checkIndex(index, 'filter interface index');
  const info = ((prio & 0xffff) << 16) | ((ETH_P_ALL >> 8) | ((ETH_P_ALL & 0xff) << 8));
  return {
    type: RTM_DELTFILTER,
    object: `${hook} filters of priority ${prio} on index ${index}`,
    dump: false,
    encode: (seq, f) => encodeMessage(RTM_DELTFILTER, f, seq, tcmsg, { index, handle: 0, parent: hook === 'ingress' ? CLSACT_INGRESS : CLSACT_EGRESS, info }),
    parse: () => undefined,
  };
}
