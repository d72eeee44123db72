/**
 * Docker's --filter for listings: KEY=VALUE, repeatable; values of one key are alternatives, different keys must all
 * match. Unknown keys are refused, never ignored.
 */
import { ClientError } from '../client/client.js';

export type Filters = ReadonlyMap<string, readonly string[]>;

export function parseFilters(values: readonly string[] | undefined, known: readonly string[]): Filters {
  const out = new Map<string, string[]>();
  for (const v of values ?? []) {
    const eq = v.indexOf('=');
    const key = eq === -1 ? v : v.slice(0, eq);
    if (eq <= 0 || !known.includes(key)) {
      throw new ClientError('TSNET_ERR_INVALID_ARGUMENT', `invalid filter "${v}": use KEY=VALUE with KEY one of ${known.join(', ')}`);
    }
    out.set(key, [...(out.get(key) ?? []), v.slice(eq + 1)]);
  }
  return out;
}

/** Whether an item passes: for each key given, one of its values matches (test(key, value)). */
export function passes(filters: Filters, test: (key: string, value: string) => boolean): boolean {
  return [...filters].every(([key, values]) => values.some((v) => test(key, v)));
}

/** A label filter: "key" (present) or "key=value". */
export function labelMatches(labels: Readonly<Record<string, string>>, filter: string): boolean {
  const eq = filter.indexOf('=');
  return eq === -1 ? filter in labels : labels[filter.slice(0, eq)] === filter.slice(eq + 1);
}
