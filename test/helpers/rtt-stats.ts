/**
 * Round trip times summarised robustly. A stall of the host (another tenant, an emulated CPU, the kernel's own work)
 * holds every packet due meanwhile: a few late replies that move a mean and a standard deviation far more than the
 * delay drawn for each packet does. So delays are checked by the median, spreads by the interquartile range (1.349
 * standard deviations of a normal distribution), and the floor by the fastest reply.
 */
export interface RttStats {
  received: number;
  min: number;
  median: number;
  /** The standard deviation a normal distribution with this interquartile range has. */
  sigma: number;
}

/** Each reply's time (ms) from ping's per-packet lines ("... time=20.2 ms"). */
export function replyTimes(pingOutput: string): number[] {
  return [...pingOutput.matchAll(/time=([\d.]+) ms/gu)].map((m) => Number(m[1]));
}

export function rttStats(times: number[]): RttStats {
  if (times.length === 0) throw new Error('no replies');
  const sorted = [...times].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.round(q * (sorted.length - 1))]!;
  return { received: sorted.length, min: sorted[0]!, median: at(0.5), sigma: (at(0.75) - at(0.25)) / 1.349 };
}
