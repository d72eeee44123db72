/** Command-line options shared by the bench scripts: --json, --debug, and whole-number options with ranges. */

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
