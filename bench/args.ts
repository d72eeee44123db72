/** What the bench scripts share: their options (--json, --debug, whole numbers with ranges) and their isolation. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureIsolated } from '../src/lab/isolation.js';

/** Runs fn inside a throwaway namespace with a temporary state folder, removed afterwards whatever happens. */
export async function inThrowawayLab(fn: (state: string) => Promise<void>): Promise<void> {
  ensureIsolated();
  const state = mkdtempSync(join(tmpdir(), 'tsnet-bench-'));
  const remove = (): void => rmSync(state, { recursive: true, force: true });
  // Also when the bench dies of an error no one caught, where the finally below does not run.
  process.once('exit', remove);
  try {
    await fn(state);
  } finally {
    process.off('exit', remove);
    remove();
  }
}

export interface NumberOption {
  readonly default: number;
  readonly min: number;
  readonly max: number;
}

export function parseBenchArgs<K extends string>(argv: readonly string[], numbers: Record<K, NumberOption>): { json: boolean } & Record<K, number> {
  const values = Object.fromEntries(Object.entries<NumberOption>(numbers).map(([k, o]) => [k, o.default])) as Record<K, number>;
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const key = a.replace(/^--/u, '') as K;
    if (a === '--json') json = true;
    else if (a === '--debug') continue;
    else if (a.startsWith('--') && key in numbers) {
      const v = Number(argv[++i]);
      const o = numbers[key];
      if (!Number.isInteger(v) || v < o.min || v > o.max) throw new Error(`${a} must be a whole number from ${o.min} to ${o.max}`);
      values[key] = v;
    } else throw new Error(`unknown option ${a}`);
  }
  return { json, ...values };
}
