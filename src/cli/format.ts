/** Output for people (aligned tables) and for scripts (--format json). */
import { Option } from 'commander';
import { ClientError } from '../client/client.js';
import { compileTemplate } from './template.js';

export function printTable(header: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]): string =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('   ')
      .trimEnd();
  console.log(line(header));
  for (const r of rows) console.log(line(r));
}

/** --format: "table" for people (the default) or "json" for scripts; any other value is refused, not ignored. */
export const formatOption = (): Option => new Option('--format <format>', 'table for people, json for scripts').choices(['table', 'json']);

export function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}

export const shortId = (id: string): string => id.replace(/^sha256:/u, '').slice(0, 12);

/** "key=value" list options into a map; a malformed one is an error that names it. */
export function keyValues(values: readonly string[], what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq <= 0) throw new ClientError('TSNET_ERR_INVALID_ARGUMENT', `invalid ${what} "${v}": expected key=value`);
    out[v.slice(0, eq)] = v.slice(eq + 1);
  }
  return out;
}

/** Prints a progress line on stderr if the operation takes over a second (and stderr is a terminal). */
export async function withProgress<T>(text: string, work: Promise<T>): Promise<T> {
  const timer = setTimeout(() => {
    if (process.stderr.isTTY) process.stderr.write(`${text}...\n`);
  }, 1000);
  try {
    return await work;
  } finally {
    clearTimeout(timer);
  }
}

/** -f/--format of the inspect commands: "json" (the default's JSON array), or a Go template applied to each. */
export const inspectFormatOption = (): Option => new Option('-f, --format <format>', 'json, or a Go template such as {{.Name}} or {{json .IPAM}}');

/** Prints inspected objects as docker inspect does: a JSON array, or one rendered template per object. */
export function printInspected(objects: readonly unknown[], format: string | undefined): void {
  if (format === undefined || format === 'json') return printJson(objects);
  const render = compileTemplate(format);
  for (const o of objects) console.log(render(o));
}
