/**
 * An experiment's figures: each metric's samples summarised (count, mean, stddev, min, p50, p95, p99, max), and the
 * assertions a report's reader (a CI) gates on: `expect: { rtt_ms: { p95: { max: 50 } }, loss_pct: { mean: { max: 1 } } }`.
 */
import { InvalidArgumentError } from '../errors.js';

export const STATISTICS = ['count', 'mean', 'stddev', 'min', 'p50', 'p95', 'p99', 'max'] as const;
export type Statistic = (typeof STATISTICS)[number];
export type Summary = Readonly<Record<Statistic, number>>;

/** Bounds on a metric's statistics: { p95: { max: 50 } }. */
export type Expectation = Readonly<Record<string, Readonly<Partial<Record<Statistic, Readonly<{ min?: number; max?: number }>>>>>>;

export interface AssertionResult {
  readonly metric: string;
  readonly statistic: Statistic;
  readonly bound: 'min' | 'max';
  readonly limit: number;
  readonly value: number;
  readonly pass: boolean;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function summarise(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const n = sorted.length;
  const mean = n ? sorted.reduce((a, b) => a + b, 0) / n : NaN;
  const variance = n > 1 ? sorted.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1) : 0;
  const r = (x: number): number => Math.round(x * 1000) / 1000;
  return {
    count: n,
    mean: r(mean),
    stddev: r(Math.sqrt(variance)),
    min: r(sorted[0] ?? NaN),
    p50: r(percentile(sorted, 50)),
    p95: r(percentile(sorted, 95)),
    p99: r(percentile(sorted, 99)),
    max: r(sorted[n - 1] ?? NaN),
  };
}

/** Checks an expectation's names (metrics the experiment has, known statistics, min or max): refused with where. */
export function checkExpectation(expect: Expectation, metrics: readonly string[], where: string): void {
  for (const [metric, stats] of Object.entries(expect)) {
    if (!metrics.includes(metric)) throw new InvalidArgumentError(`${where}: no metric "${metric}" (this experiment has ${metrics.join(', ')})`);
    for (const [stat, bounds] of Object.entries(stats)) {
      if (!(STATISTICS as readonly string[]).includes(stat))
        throw new InvalidArgumentError(`${where}: ${metric}: unknown statistic "${stat}" (${STATISTICS.join(', ')})`);
      const keys = Object.keys(bounds ?? {});
      if (!keys.length || keys.some((k) => k !== 'min' && k !== 'max')) throw new InvalidArgumentError(`${where}: ${metric}.${stat}: give min and/or max`);
    }
  }
}

/** Every bound of the expectation against the summaries. */
export function assertAll(expect: Expectation, summaries: Readonly<Record<string, Summary>>): AssertionResult[] {
  return Object.entries(expect).flatMap(([metric, stats]) =>
    Object.entries(stats).flatMap(([stat, bounds]) =>
      (['min', 'max'] as const)
        .filter((b) => bounds?.[b] !== undefined)
        .map((b) => {
          const value = summaries[metric]?.[stat as Statistic] ?? NaN;
          const limit = bounds![b]!;
          return { metric, statistic: stat as Statistic, bound: b, limit, value, pass: b === 'min' ? value >= limit : value <= limit };
        }),
    ),
  );
}
