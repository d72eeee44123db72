/**
 * The kernel's netem qdisc over rtnetlink, as `tc qdisc replace dev DEV ... netem ...` sends it: delay, jitter
 * (normal, from a distribution table, or uniform), duplicate, reorder, corrupt and Gilbert-Elliott loss on what
 * leaves a link. Where the kernel has netem, tsnet's impairments use it instead of tsnet's own delay engine. Pure
 * encoding: requests for a NetlinkSocket.
 */
import { InvalidArgumentError } from '../errors.js';
import { NLA_F_NESTED, NLM_F_CREATE, NLM_F_REPLACE } from './constants.js';
import { attr, encodeAttrs, type Attr } from './attributes.js';
import type { NetlinkRequest } from './socket.js';
import { qdiscRequest, RTM_NEWQDISC, TC_H_ROOT } from './tc.js';

const TCA_NETEM_DELAY_DIST = 2;
const TCA_NETEM_REORDER = 3;
const TCA_NETEM_CORRUPT = 4;
const TCA_NETEM_LOSS = 5;
const NETEM_LOSS_GE = 2;
/** Table entries are in units of a standard deviation times this (the kernel's NETEM_DIST_SCALE). */
const NETEM_DIST_SCALE = 8192;
const DIST_TABLE_SIZE = 4096;
/** The kernel's time unit in tc_netem_qopt: a psched tick, 64 ns. */
const PSCHED_SHIFT = 6;
const U32_MAX = 0xffffffff;

/** The handle of tsnet's netem at a link's root (its rate's TBF, where it has one, is its child, 1:). */
export const NETEM_HANDLE = 0x20000;

export interface NetemSpec {
  /** Nanoseconds. */
  readonly delay?: number;
  /** Nanoseconds: the normal distribution's standard deviation, or the uniform one's half width. */
  readonly jitter?: number;
  readonly distribution?: 'normal' | 'uniform';
  /** Percentages. */
  readonly duplicate?: number;
  readonly reorder?: number;
  readonly corrupt?: number;
  /** Gilbert-Elliott loss, percentages: to bad, back to good, lost in bad, lost in good. */
  readonly lossModel?: { readonly p: number; readonly r: number; readonly badLoss: number; readonly goodLoss: number };
  /** Packets the qdisc holds. */
  readonly limit: number;
}

/** C's rint(): to the nearest integer, halves to even (what tc computes its probabilities with). */
function rint(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** A percentage as netem's u32 probability (tc's get_percent). */
const probability = (percent: number): number => rint((percent / 100) * U32_MAX);

const u32s = (...values: number[]): Buffer => {
  const b = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => b.writeUInt32LE(v >>> 0, i * 4));
  return b;
};

/** Acklam's rational approximation of the normal distribution's inverse (relative error below 1.2e-9). */
function normalQuantile(p: number): number {
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const tail = (q: number): number =>
    (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  if (p < 0.02425) return tail(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - 0.02425) return -tail(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1)
  );
}

/**
 * The normal distribution as netem draws from it: 4,096 quantiles in units of a standard deviation (times 8192),
 * each the middle of its 1/4096 of the probability, so the table's mean is 0 and its spread 1 (tc reads the same
 * from iproute2's normal.dist file).
 */
export function normalDistributionTable(): Buffer {
  const table = Buffer.alloc(DIST_TABLE_SIZE * 2);
  for (let i = 0; i < DIST_TABLE_SIZE; i++) {
    const v = Math.round(normalQuantile((i + 0.5) / DIST_TABLE_SIZE) * NETEM_DIST_SCALE);
    table.writeInt16LE(Math.max(-32768, Math.min(32767, v)), i * 2);
  }
  return table;
}

/** Nanoseconds as psched ticks; times past the u32 of ticks (274 s) are refused (tsnet's impairments stop at 60 s). */
function ticks(ns: number, what: string): number {
  const t = Math.floor(ns / 2 ** PSCHED_SHIFT);
  if (!(t >= 0 && t <= U32_MAX)) throw new InvalidArgumentError(`netem ${what} of ${ns} ns is out of range: at most ${U32_MAX * 2 ** PSCHED_SHIFT} ns`);
  return t;
}

/**
 * netem's TCA_OPTIONS: struct tc_netem_qopt { latency, limit, loss, gap, duplicate, jitter } (times in ticks),
 * then its own attributes. As tc does: gap 1 with reorder (the reordered packets leave at once, the others after
 * the delay). With `reset`, reorder and corruption are sent as 0 when unset: a change of a netem keeps those it is
 * not sent (tc's `change` has the same trap).
 */
export function netemOptions(spec: NetemSpec, reset = false): Buffer {
  const jitter = spec.jitter ?? 0;
  const qopt = u32s(
    ticks(spec.delay ?? 0, 'delay'),
    spec.limit,
    0,
    spec.reorder ? 1 : 0,
    spec.duplicate ? probability(spec.duplicate) : 0,
    ticks(jitter, 'jitter'),
  );
  const ge = spec.lossModel;
  const attrs: Attr[] = [
    ...(jitter && (spec.distribution ?? 'normal') === 'normal' ? [attr.bytes(TCA_NETEM_DELAY_DIST, normalDistributionTable())] : []),
    ...(spec.reorder || reset ? [attr.bytes(TCA_NETEM_REORDER, u32s(probability(spec.reorder ?? 0), 0))] : []),
    ...(spec.corrupt || reset ? [attr.bytes(TCA_NETEM_CORRUPT, u32s(probability(spec.corrupt ?? 0), 0))] : []),
    // tc's gemodel: the chance to stay unharmed in the bad state (h), the chance of a loss in the good one (1-k).
    ...(ge
      ? [
          attr.nested(TCA_NETEM_LOSS | NLA_F_NESTED, [
            attr.bytes(NETEM_LOSS_GE, u32s(probability(ge.p), probability(ge.r), U32_MAX - probability(ge.badLoss), probability(ge.goodLoss))),
          ]),
        ]
      : []),
  ];
  return Buffer.concat([qopt, encodeAttrs(attrs)]);
}

/**
 * Equivalent to: `tc qdisc replace dev DEV root handle 2: netem ...` with reorder and corrupt always said (a change
 * keeps the rate's TBF below it, and drops what was set before). A distribution table stays until the qdisc goes.
 */
export function netemReplaceRequest(index: number, spec: NetemSpec): NetlinkRequest<void> {
  return qdiscRequest(RTM_NEWQDISC, NLM_F_CREATE | NLM_F_REPLACE, index, TC_H_ROOT, NETEM_HANDLE, 'netem', netemOptions(spec, true), `netem on index ${index}`);
}
