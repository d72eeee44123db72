/**
 * Reading a containerlab topology file (and tsnet's companion file) into a checked Topology: environment
 * substitution as containerlab does it (`${VAR}`, `${VAR:=default}`), YAML through the yaml library, the schema,
 * containerlab's inheritance (defaults < kinds < groups < node), then what a schema cannot say (links to unknown
 * nodes, an interface used twice, addresses). Every problem is reported with its line and key; nothing is made
 * from a file that has one. Pure.
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { TSchema } from 'typebox';
import { Value } from 'typebox/value';
import { CORE_SCHEMA, load } from 'js-yaml';
import { LineCounter, parseDocument, type Document } from 'yaml';
import { InvalidArgumentError } from '../errors.js';
import { parseDuration } from '../lib/impairment.js';
import { CompanionSchema, TopologySchema, UNSUPPORTED_CONTAINERLAB_KEYS, type CompanionFile, type NodeFile, type TopologyFile } from './schema.js';
import { checkEvents, checkExperiments, checkNodeSemantics, checkLinks } from './checks.js';
import { walkSchema, type SchemaCheck } from './schema-check.js';
import type { LabEndpoint, LabNode, Locate, Topology } from './types.js';

export type { LabEndpoint, LabEvent, LabLink, LabNode, LabRoute, Locate, Topology } from './types.js';

/** containerlab's defaults: the management network `clab` on 172.20.20.0/24, names prefixed `clab`. */
export const DEFAULT_MGMT = { network: 'clab', ipv4Subnet: '172.20.20.0/24' } as const;

/** A file with problems: each one with its line and key. */
export class TopologyError extends InvalidArgumentError {
  constructor(
    file: string,
    readonly problems: readonly string[],
  ) {
    super(`${file}: ${problems.length === 1 ? problems[0] : `${problems.length} problems:\n  ${problems.join('\n  ')}`}`);
  }
}

/** containerlab's substitution: ${VAR}, ${VAR:=default} and ${VAR:-default}; an unset variable without one is empty. */
export function substituteEnv(text: string, env: Readonly<Record<string, string | undefined>>): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[=-]([^}]*))?\}/gu, (_m, name: string, fallback: string | undefined) => {
    const value = env[name];
    return value !== undefined && value !== '' ? value : (fallback ?? '');
  });
}

/** Splits a command line as a shell would split words (quotes, no expansion): containerlab's `cmd`. */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  const re = /\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|((?:[^\s"'\\]|\\.)+))/gu;
  let current = '';
  let last = 0;
  for (let m = re.exec(line); m; m = re.exec(line)) {
    const glued = m.index === last && current !== '' && !/^\s/u.test(m[0]);
    if (!glued && current !== '') {
      words.push(current);
      current = '';
    }
    current += m[1] !== undefined ? m[1].replace(/\\(.)/gu, '$1') : (m[2] ?? m[3]!.replace(/\\(.)/gu, '$1'));
    last = re.lastIndex;
  }
  if (current !== '') words.push(current);
  return words;
}

function locator(doc: Document, counter: LineCounter): Locate {
  return (path) => {
    let node: unknown = doc.contents;
    let offset: number | undefined;
    for (const key of path) {
      const items = (node as { items?: unknown[] } | null)?.items;
      if (!items) break;
      if (typeof key === 'number') node = items[key];
      else {
        const pair = items.find((p) => String((p as { key?: { value?: unknown } }).key?.value) === key) as
          { key?: { range?: number[] }; value?: unknown } | undefined;
        if (!pair) break;
        offset = pair.key?.range?.[0];
        node = pair.value;
        continue;
      }
      offset = (node as { range?: number[] } | undefined)?.range?.[0];
    }
    const line = offset !== undefined ? `line ${counter.linePos(offset).line}: ` : '';
    return `${line}${path.join('.') || '(top)'}`;
  };
}

/** Parses YAML text into plain data with the yaml library, which keeps where each node is: or the problems (with lines). */
function readYamlLocated(text: string): { data: unknown; locate: Locate; problems: string[] } {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false, uniqueKeys: true });
  const problems = doc.errors.map((e) => `line ${counter.linePos(e.pos[0]).line}: ${e.message.split('\n')[0]}`);
  return { data: problems.length ? undefined : doc.toJS(), locate: locator(doc, counter), problems };
}

/**
 * Parses YAML text into plain data: js-yaml first (YAML 1.2's core schema, as the yaml library's default; ten times
 * faster, which a 50-node lab's deploy feels), and the yaml library's positions only once a problem must be located.
 * A text js-yaml refuses (a syntax error, a duplicated key) is read by the yaml library for its words and lines.
 */
function readYaml(text: string): { data: unknown; locate: Locate; problems: string[] } {
  let data: unknown;
  try {
    data = load(text, { schema: CORE_SCHEMA }) ?? null;
  } catch {
    return readYamlLocated(text);
  }
  let located: Locate | undefined;
  return { data, locate: (path) => (located ??= readYamlLocated(text).locate)(path), problems: [] };
}

/** Schema errors in words: unknown keys by name (containerlab's own unsupported ones said so), the rest as TypeBox says. */
function schemaProblems(schema: TSchema, data: unknown, locate: Locate, checker: SchemaCheck): string[] {
  if (checker.check(schema, data)) return []; // the errors' walk only for a file that has some
  const errors = [...Value.Errors(schema, data)].map((e) => ({
    ...e,
    path: e.instancePath
      .split('/')
      .slice(1)
      .map((p) => p.replace(/~1/gu, '/').replace(/~0/gu, '~')),
  }));
  // A union's other branches ("must be null", "must be string") and its summary say nothing where a deeper error
  // says what is wrong; an unknown key is reported once, by its own path, not again by its parent object.
  const deeper = (path: string): boolean => errors.some((x) => x.instancePath.startsWith(`${path}/`));
  const out: string[] = [];
  for (const e of errors) {
    if (e.keyword === 'additionalProperties' || e.keyword === 'anyOf' || (e.keyword === 'type' && deeper(e.instancePath))) continue;
    const key = e.path.at(-1) ?? '';
    if (e.keyword === 'boolean') {
      const why = UNSUPPORTED_CONTAINERLAB_KEYS.has(key) ? "containerlab's key, which tsnet does not support" : 'unknown key';
      out.push(`${locate(e.path)}: ${why}`);
    } else out.push(`${locate(e.path)}: ${e.message}`);
  }
  return [...new Set(out)];
}

/** containerlab's inheritance for one node: maps merge, other values are replaced by the more specific. */
function inherit(file: TopologyFile, name: string): NodeFile {
  const node = file.topology.nodes[name] ?? {};
  const kind = node.kind ?? file.topology.groups?.[node.group ?? '']?.kind ?? file.topology.defaults?.kind;
  const layers = [file.topology.defaults, kind ? file.topology.kinds?.[kind] : undefined, node.group ? file.topology.groups?.[node.group] : undefined, node];
  const merged: Record<string, unknown> = {};
  for (const layer of layers) {
    for (const [k, v] of Object.entries(layer ?? {})) {
      const mapKey = k === 'env' || k === 'labels' || k === 'sysctls';
      merged[k] = mapKey ? { ...(merged[k] as object | undefined), ...(v as object) } : v;
    }
  }
  return merged as NodeFile;
}

const strings = (m: Readonly<Record<string, string | number | boolean>> | undefined): Record<string, string> =>
  Object.fromEntries(Object.entries(m ?? {}).map(([k, v]) => [k, String(v)]));

function endpoint(e: string | { node: string; interface: string; mac?: string }): LabEndpoint {
  if (typeof e !== 'string') return { node: e.node, iface: e.interface, ...(e.mac ? { mac: e.mac.toLowerCase() } : {}) };
  const colon = e.indexOf(':');
  return { node: colon === -1 ? e : e.slice(0, colon), iface: colon === -1 ? '' : e.slice(colon + 1) };
}

export interface ParseInput {
  readonly text: string;
  /** Where the file came from, for messages. */
  readonly file?: string;
  readonly companion?: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** For drawing only: kinds tsnet cannot run (vendor routers) and missing images are not problems. */
  readonly forDrawing?: boolean;
  /** The file's folder (absolute), for relative bind paths. */
  readonly dir?: string;
  /** How the data is checked against the schemas (default: by walking them). */
  readonly checker?: SchemaCheck;
}

/** Reads and checks a topology; throws a TopologyError listing every problem with its line. */
export function parseTopology(input: ParseInput): Topology {
  const file = input.file ?? 'topology';
  const main = readYaml(substituteEnv(input.text, input.env ?? {}));
  if (main.problems.length) throw new TopologyError(file, main.problems);
  const checker = input.checker ?? walkSchema;
  const problems = schemaProblems(TopologySchema, main.data, main.locate, checker);
  if (problems.length) throw new TopologyError(file, problems);
  const data = main.data as TopologyFile;
  const extra = input.companion !== undefined ? readYaml(substituteEnv(input.companion, input.env ?? {})) : undefined;
  if (extra?.problems.length) throw new TopologyError(`${file} (companion)`, extra.problems);
  const companionProblems = extra ? schemaProblems(CompanionSchema, extra.data ?? {}, extra.locate, checker) : [];
  if (companionProblems.length) throw new TopologyError(`${file} (companion)`, companionProblems);
  const companion = (extra?.data ?? {}) as CompanionFile;
  const topology = build(data, companion);
  const semantic = [
    ...Object.keys(data.topology.nodes).flatMap((n) => checkNodeSemantics(topology, n, main.locate, input.forDrawing ?? false, extra?.locate)),
    ...checkLinks(topology, main.locate, extra?.locate),
    ...checkEvents(topology, companion.events ?? [], extra?.locate),
    ...checkExperiments(topology, extra?.locate),
  ];
  if (semantic.length) throw new TopologyError(file, semantic);
  return input.dir ? { ...topology, dir: input.dir } : topology;
}

function build(data: TopologyFile, companion: CompanionFile): Topology {
  const nodes = Object.keys(data.topology.nodes).map((name): LabNode => {
    const n = inherit(data, name);
    const more = companion.nodes?.[name];
    return {
      name,
      kind: (n.kind ?? 'linux') as LabNode['kind'],
      ...(n.image ? { image: n.image } : {}),
      ...(n.cmd ? { cmd: splitWords(n.cmd) } : {}),
      exec: [...(n.exec ?? [])],
      env: strings(n.env),
      sysctls: strings(n.sysctls),
      networkMode: (n['network-mode'] ?? 'bridge') as LabNode['networkMode'],
      ...(n['mgmt-ipv4'] ? { mgmtIpv4: n['mgmt-ipv4'] } : {}),
      ...(n['mgmt-ipv6'] ? { mgmtIpv6: n['mgmt-ipv6'] } : {}),
      labels: strings(n.labels),
      ...(n.group ? { group: n.group } : {}),
      addresses: Object.fromEntries(Object.entries(more?.interfaces ?? {}).map(([i, v]) => [i, [...(v.addresses ?? [])]])),
      impair: Object.fromEntries(Object.entries(more?.interfaces ?? {}).flatMap(([i, v]) => (v.impair ? [[i, v.impair]] : []))),
      routes: [...(more?.routes ?? [])],
      ...(n.binds?.length ? { binds: n.binds } : {}),
      ...(n.type ? { type: n.type } : {}),
    };
  });
  return {
    name: data.name,
    prefix: data.prefix ?? 'clab',
    mgmt: {
      network: data.mgmt?.network ?? DEFAULT_MGMT.network,
      ipv4Subnet: data.mgmt?.['ipv4-subnet'] ?? DEFAULT_MGMT.ipv4Subnet,
      ...(data.mgmt?.['ipv6-subnet'] ? { ipv6Subnet: data.mgmt['ipv6-subnet'] } : {}),
      ...(data.mgmt?.['ipv4-gw'] ? { ipv4Gateway: data.mgmt['ipv4-gw'] } : {}),
      ...(data.mgmt?.['ipv6-gw'] ? { ipv6Gateway: data.mgmt['ipv6-gw'] } : {}),
      ...(data.mgmt?.bridge ? { bridge: data.mgmt.bridge } : {}),
      ...(data.mgmt?.mtu ? { mtu: data.mgmt.mtu } : {}),
    },
    nodes,
    links: (data.topology.links ?? []).map((l) => ({ a: endpoint(l.endpoints[0]!), b: endpoint(l.endpoints[1]!), ...(l.mtu ? { mtu: l.mtu } : {}) })),
    events: (companion.events ?? []).map((e) => ({
      atNs: eventTime(e.at),
      endpoint: e.endpoint,
      peerToo: e['peer-too'] ?? false,
      clear: e.clear ?? false,
      ...(e.set ? { set: e.set } : {}),
      ...(e.state ? { state: e.state } : {}),
    })),
    experiments: companion.experiments ?? [],
  };
}

/** An event's time in ns; one that is not a time is NaN here, and a problem with its line in checkEvents. */
function eventTime(at: string | number): number {
  try {
    return parseDuration(at, '', '');
  } catch {
    return NaN;
  }
}

/** The container of a node, named as containerlab names it: PREFIX-LAB-NODE, LAB-NODE for "__lab-name", NODE for "". */
export function containerName(t: Pick<Topology, 'name' | 'prefix'>, node: string): string {
  if (t.prefix === '') return node;
  if (t.prefix === '__lab-name') return `${t.name}-${node}`;
  return `${t.prefix}-${t.name}-${node}`;
}

export const isAddress = (s: string): boolean => isIPv4(s) || isIPv6(s);
