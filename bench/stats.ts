/** Figures for benchmarks: medians, percentiles, and the table/JSON output every bench script shares. */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export const median = (samples: readonly number[]): number => percentile(samples, 50);

export interface Summary {
  readonly count: number;
  readonly medianMs: number;
  readonly p95Ms: number;
}

export function summarise(samplesMs: readonly number[]): Summary {
  return { count: samplesMs.length, medianMs: round(median(samplesMs)), p95Ms: round(percentile(samplesMs, 95)) };
}

export const round = (x: number, digits = 3): number => Number(x.toFixed(digits));

/** Milliseconds taken by fn. */
export async function timeMs(fn: () => unknown): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** A plain text table: a header row and rows of cells, columns padded to their widest cell. */
export function table(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]): string =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(cells[0]!), line(widths.map((w) => '-'.repeat(w))), ...cells.slice(1).map(line)].join('\n');
}

/**
 * The process's memory after a full garbage collection: its resident set, and what its JavaScript holds (V8's heap
 * in use and the memory of its buffers). Two readings of the second differ by what is held; the resident set also
 * moves with what the kernel reclaims from the process on its own (this machine's kernel reclaims cold pages in the
 * background), so a growth figure taken from it alone could come out negative.
 */
export function settledMemory(): { rss: number; held: number } {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
  const m = process.memoryUsage();
  return { rss: m.rss, held: m.heapUsed + m.external };
}
