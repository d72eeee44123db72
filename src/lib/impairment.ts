/**
 * Link impairments as people write them (tc's and netem's words: `rate: 10mbit`, `loss: 5%`, `delay: 20ms`) and as
 * tsnet applies them to what leaves one end of a link. What tsnet cannot apply is refused by name, never ignored.
 */
import { InvalidArgumentError } from '../errors.js';
import { parseByteSize } from './sizes.js';

/** An impairment as given: in a companion file, on the command line, or in the API. */
export interface ImpairmentInput {
  readonly rate?: string | number;
  readonly burst?: string | number;
  readonly loss?: string | number;
  readonly mtu?: number;
  readonly down?: boolean;
  readonly delay?: string | number;
  readonly jitter?: string | number;
  /** The jitter's distribution: normal (jitter is its standard deviation; the default) or uniform (+/- jitter). */
  readonly distribution?: string;
  /** Bursty loss (netem's gemodel): good to bad with p, back with r, lost with bad-loss in bad, good-loss in good. */
  readonly 'loss-model'?: {
    readonly p: string | number;
    readonly r: string | number;
    readonly 'bad-loss'?: string | number;
    readonly 'good-loss'?: string | number;
  };
  readonly corrupt?: string | number;
  readonly duplicate?: string | number;
  readonly reorder?: string | number;
}

/** What tsnet applies to the packets leaving one end. */
export interface Impairment {
  /** Bits per second. */
  readonly rate?: number;
  /** Bytes that may leave at once above the rate (TBF's bucket). */
  readonly burst?: number;
  /** Percent of the packets dropped, at random (0 < loss <= 100). */
  readonly loss?: number;
  readonly mtu?: number;
  readonly down?: boolean;
  /** Nanoseconds each packet is held (tsnet's delay engine). */
  readonly delay?: number;
  /** Nanoseconds: the normal distribution's standard deviation, or the uniform one's half width. */
  readonly jitter?: number;
  readonly distribution?: 'normal' | 'uniform';
  /** Percent of the packets sent twice (tsnet's delay engine). */
  readonly duplicate?: number;
  /** Percent of the packets sent at once, ahead of those delayed (netem's reorder; needs a delay). */
  readonly reorder?: number;
  /** Gilbert-Elliott loss, percentages (tsnet's delay engine). */
  readonly lossModel?: GilbertElliott;
  /** Percent of the packets with one bit flipped (tsnet's delay engine). */
  readonly corrupt?: number;
}

export interface GilbertElliott {
  readonly p: number;
  readonly r: number;
  readonly badLoss: number;
  readonly goodLoss: number;
}

/** The share of packets a Gilbert-Elliott chain loses in the long run (percent). */
export const gilbertElliottLoss = (g: GilbertElliott): number => (g.p * g.badLoss + g.r * g.goodLoss) / (g.p + g.r);

const TIME_UNITS: Readonly<Record<string, number>> = { '': 1e6, ns: 1, us: 1e3, ms: 1e6, s: 1e9 };

/** netem's times: "20ms", "500us", "1.5s"; a bare number is milliseconds. In nanoseconds. */
export function parseDuration(v: string | number, where: string, what: string): number {
  const m = typeof v === 'number' ? ['', String(v), ''] : /^(\d+(?:\.\d+)?)\s*(ns|us|ms|s)?$/u.exec(v.trim());
  const ns = m ? Math.round(Number(m[1]) * TIME_UNITS[m[2] ?? '']!) : NaN;
  if (!(ns >= 0 && ns <= 60e9)) throw new InvalidArgumentError(`${where}: invalid ${what} "${v}": expected a time such as 20ms, 500us or 1s (at most 60 s)`);
  return ns;
}

const RATE_UNITS: Readonly<Record<string, number>> = {
  '': 1,
  bit: 1,
  kbit: 1e3,
  mbit: 1e6,
  gbit: 1e9,
  tbit: 1e12,
  bps: 8,
  kbps: 8e3,
  mbps: 8e6,
  gbps: 8e9,
};

/** tc's rates: "10mbit", "1gbit", "500kbit", "100kbps" (bytes), or bits per second as a number. */
export function parseRate(v: string | number, where: string): number {
  const m = typeof v === 'number' ? ['', String(v), ''] : /^(\d+(?:\.\d+)?)\s*([a-z]*)$/iu.exec(v.trim());
  const unit = RATE_UNITS[(m?.[2] ?? '').toLowerCase()];
  const rate = m && unit ? Math.round(Number(m[1]) * unit) : NaN;
  if (!(rate >= 8 && rate <= 1e13))
    throw new InvalidArgumentError(`${where}: invalid rate "${v}": expected a number and bit, kbit, mbit, gbit (or bps, kbps, mbps for bytes), from 8 bit/s`);
  return rate;
}

/** A share in percent: "5%", "0.5%" or 5. */
export function parsePercent(v: string | number, where: string, what: string): number {
  const text = typeof v === 'number' ? String(v) : v.trim().replace(/%$/u, '');
  const n = /^\d+(\.\d+)?$/u.test(text) ? Number(text) : NaN;
  if (!(n >= 0 && n <= 100)) throw new InvalidArgumentError(`${where}: invalid ${what} "${v}": expected a percentage from 0 to 100, e.g. 5%`);
  return n;
}

/** Checks an impairment as given and turns it into what tsnet applies; refuses what it cannot apply, by name. */
export function parseImpairment(input: ImpairmentInput, where: string): Impairment {
  const burst = input.burst === undefined ? undefined : typeof input.burst === 'number' ? input.burst : parseByteSize(input.burst.replace(/b$/iu, ''));
  if (burst !== undefined && !(Number.isInteger(burst) && burst >= 1500 && burst <= 2 ** 31))
    throw new InvalidArgumentError(`${where}: invalid burst "${input.burst}": expected bytes (at least one packet, 1500), e.g. 32kb`);
  if (burst !== undefined && input.rate === undefined) throw new InvalidArgumentError(`${where}: burst is the rate's: give a rate too`);
  if (input.mtu !== undefined && !(Number.isInteger(input.mtu) && input.mtu >= 68 && input.mtu <= 65535))
    throw new InvalidArgumentError(`${where}: invalid mtu ${input.mtu}: expected 68 to 65535`);
  const loss = input.loss === undefined ? undefined : parsePercent(input.loss, where, 'loss');
  const delay = input.delay === undefined ? undefined : parseDuration(input.delay, where, 'delay');
  const jitter = input.jitter === undefined ? undefined : parseDuration(input.jitter, where, 'jitter');
  if (jitter && !delay) throw new InvalidArgumentError(`${where}: jitter is the delay's: give a delay too`);
  const duplicate = input.duplicate === undefined ? undefined : parsePercent(input.duplicate, where, 'duplicate');
  const reorder = input.reorder === undefined ? undefined : parsePercent(input.reorder, where, 'reorder');
  const corrupt = input.corrupt === undefined ? undefined : parsePercent(input.corrupt, where, 'corrupt');
  if (reorder && !delay) throw new InvalidArgumentError(`${where}: reorder sends some packets ahead of the delayed ones: give a delay too`);
  const model = input['loss-model'];
  const lossModel = model
    ? {
        p: parsePercent(model.p, where, 'loss-model p'),
        r: parsePercent(model.r, where, 'loss-model r'),
        badLoss: model['bad-loss'] === undefined ? 100 : parsePercent(model['bad-loss'], where, 'loss-model bad-loss'),
        goodLoss: model['good-loss'] === undefined ? 0 : parsePercent(model['good-loss'], where, 'loss-model good-loss'),
      }
    : undefined;
  if (lossModel && lossModel.p + lossModel.r === 0) throw new InvalidArgumentError(`${where}: loss-model: p and r cannot both be 0`);
  if (input.distribution !== undefined && input.distribution !== 'normal' && input.distribution !== 'uniform')
    throw new InvalidArgumentError(`${where}: invalid distribution "${input.distribution}": normal or uniform`);
  return {
    ...(delay ? { delay } : {}),
    ...(delay && jitter ? { jitter, distribution: (input.distribution ?? 'normal') as 'normal' | 'uniform' } : {}),
    ...(duplicate ? { duplicate } : {}),
    ...(reorder ? { reorder } : {}),
    ...(corrupt ? { corrupt } : {}),
    ...(lossModel ? { lossModel } : {}),
    ...(input.rate !== undefined ? { rate: parseRate(input.rate, where) } : {}),
    ...(burst !== undefined ? { burst } : {}),
    ...(loss ? { loss } : {}),
    ...(input.mtu !== undefined ? { mtu: input.mtu } : {}),
    ...(input.down ? { down: true } : {}),
  };
}

/** An impairment as tsnet keeps it, given back in the words it is given in (to change some of its values). */
export function toInput(i: Impairment): ImpairmentInput {
  return {
    ...(i.rate ? { rate: i.rate } : {}),
    ...(i.burst ? { burst: i.burst } : {}),
    ...(i.loss ? { loss: i.loss } : {}),
    ...(i.mtu ? { mtu: i.mtu } : {}),
    ...(i.down ? { down: true } : {}),
    ...(i.delay ? { delay: `${i.delay}ns` } : {}),
    ...(i.jitter ? { jitter: `${i.jitter}ns` } : {}),
    ...(i.distribution ? { distribution: i.distribution } : {}),
    ...(i.duplicate ? { duplicate: i.duplicate } : {}),
    ...(i.reorder ? { reorder: i.reorder } : {}),
    ...(i.corrupt ? { corrupt: i.corrupt } : {}),
    ...(i.lossModel ? { 'loss-model': { p: i.lossModel.p, r: i.lossModel.r, 'bad-loss': i.lossModel.badLoss, 'good-loss': i.lossModel.goodLoss } } : {}),
  };
}

/** TBF's bucket when none is given: 10 ms at the rate, and at least 16 KiB (a few full packets, and GSO's). */
export const defaultBurst = (rate: number): number => Math.max(16384, Math.ceil(rate / 8 / 100));

/** TBF's queue: 100 ms at the rate, and at least twice the bucket. */
export const queueLimit = (rate: number, burst: number): number => Math.max(2 * burst, Math.ceil(rate / 8 / 10));

/** An impairment in tc's words, for display: "rate 10mbit burst 16kb loss 5% down". */
export function describeImpairment(i: Impairment): string {
  const rate = (r: number): string => (r % 1e9 === 0 ? `${r / 1e9}gbit` : r % 1e6 === 0 ? `${r / 1e6}mbit` : r % 1e3 === 0 ? `${r / 1e3}kbit` : `${r}bit`);
  const ms = (ns: number): string => (ns % 1e6 === 0 ? `${ns / 1e6}ms` : `${ns / 1e3}us`);
  const parts = [
    ...(i.delay ? [`delay ${ms(i.delay)}`] : []),
    ...(i.jitter ? [`jitter ${ms(i.jitter)} ${i.distribution ?? 'normal'}`] : []),
    ...(i.rate ? [`rate ${rate(i.rate)}`, `burst ${Math.round((i.burst ?? defaultBurst(i.rate)) / 1024)}kb`] : []),
    ...(i.loss ? [`loss ${i.loss}%`] : []),
    ...(i.lossModel ? [`loss gemodel p ${i.lossModel.p}% r ${i.lossModel.r}% bad ${i.lossModel.badLoss}% good ${i.lossModel.goodLoss}%`] : []),
    ...(i.duplicate ? [`duplicate ${i.duplicate}%`] : []),
    ...(i.reorder ? [`reorder ${i.reorder}%`] : []),
    ...(i.corrupt ? [`corrupt ${i.corrupt}%`] : []),
    ...(i.mtu ? [`mtu ${i.mtu}`] : []),
    ...(i.down ? ['down'] : []),
  ];
  return parts.join(' ') || 'none';
}

/** A delay engine relay as the controller asks for it and the daemon's launcher runs it. */
export interface RelaySpec {
  readonly nsPath: string;
  readonly inIf: string;
  readonly outIf: string;
  readonly mark: number;
  readonly delayNs: number;
  readonly jitterNs: number;
  readonly distribution: 'none' | 'normal' | 'uniform';
  /** Packets that may wait at once (netem's default limit). */
  readonly limit: number;
  /** Parts per million sent twice, and sent at once (ahead of the delayed ones). */
  readonly duplicatePpm: number;
  readonly reorderPpm: number;
  /** Parts per million with a bit flipped. */
  readonly corruptPpm: number;
  /** Gilbert-Elliott loss in parts per million: p, r, loss in bad, loss in good. */
  readonly gilbertElliottPpm?: readonly [number, number, number, number];
}
