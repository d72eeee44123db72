/**
 * The part of Go's text/template that people pass to `docker inspect -f`: `{{.Field.Sub}}`, `{{json .X}}`,
 * `{{index .Map "key"}}` (also `(index .Map "key").Field`), `{{join .List ","}}`, `{{len .X}}`, `{{range .X}}...{{end}}`
 * (with `$k, $v :=`), `{{if .X}}...{{else}}...{{end}}`, `{{println}}` and `{{"text"}}`; values print as Go prints them.
 * Anything else is refused with the position, not silently printed.
 */
import { ClientError } from '../client/client.js';

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'expr'; expr: string }
  | { kind: 'range'; expr: string; key?: string; value?: string; body: Node[]; otherwise: Node[] }
  | { kind: 'if'; expr: string; body: Node[]; otherwise: Node[] };

type Vars = ReadonlyMap<string, unknown>;

const fail = (why: string): never => {
  throw new ClientError('TSNET_ERR_INVALID_ARGUMENT', `template: ${why}`);
};

/** Text and actions, trimming around `{{-` and `-}}` as Go does. */
function lex(source: string): { kind: 'text' | 'action'; text: string }[] {
  const out: { kind: 'text' | 'action'; text: string }[] = [];
  let rest = source;
  while (rest.length > 0) {
    const open = rest.indexOf('{{');
    if (open === -1) {
      out.push({ kind: 'text', text: rest });
      break;
    }
    const close = rest.indexOf('}}', open);
    if (close === -1) fail(`unclosed action at "${rest.slice(open, open + 20)}"`);
    let text = rest.slice(0, open);
    let action = rest.slice(open + 2, close);
    if (action.startsWith('-')) {
      text = text.trimEnd();
      action = action.slice(1);
    }
    const trimAfter = action.endsWith('-');
    if (trimAfter) action = action.slice(0, -1);
    if (text) out.push({ kind: 'text', text });
    out.push({ kind: 'action', text: action.trim() });
    rest = rest.slice(close + 2);
    if (trimAfter) rest = rest.trimStart();
  }
  return out;
}

/** The nodes up to an {{end}} or {{else}} (or the end of input when top is true). */
function parse(tokens: { kind: 'text' | 'action'; text: string }[], top: boolean): { nodes: Node[]; stop: string } {
  const nodes: Node[] = [];
  for (let t = tokens.shift(); t; t = tokens.shift()) {
    if (t.kind === 'text') nodes.push({ kind: 'text', text: t.text });
    else if (t.text === 'end' || t.text === 'else') return { nodes, stop: t.text };
    else if (/^(range|if)\s/u.test(t.text)) nodes.push(block(tokens, t.text));
    else nodes.push({ kind: 'expr', expr: t.text });
  }
  if (!top) fail('missing {{end}}');
  return { nodes, stop: '' };
}

function block(tokens: { kind: 'text' | 'action'; text: string }[], head: string): Node {
  const [word, ...restWords] = head.split(/\s+/u);
  let expr = restWords.join(' ');
  const body = parse(tokens, false);
  const otherwise = body.stop === 'else' ? parse(tokens, false).nodes : [];
  if (word === 'if') return { kind: 'if', expr, body: body.nodes, otherwise };
  const m = /^(\$\w+)\s*(?:,\s*(\$\w+)\s*)?:=\s*(.+)$/u.exec(expr);
  const vars = m ? (m[2] ? { key: m[1]!, value: m[2] } : { value: m[1]! }) : {};
  if (m) expr = m[3]!;
  return { kind: 'range', expr, ...vars, body: body.nodes, otherwise };
}

/** Splits an expression into words, keeping "strings" and (parenthesised groups) whole. */
function words(expr: string): string[] {
  const out: string[] = [];
  const re = /\s*("(?:[^"\\]|\\.)*"|\((?:[^()]|\([^()]*\))*\)(?:\.[\w.]+)?|[^\s()]+)/gu;
  for (let m = re.exec(expr); m; m = re.exec(expr)) out.push(m[1]!);
  return out;
}

function field(value: unknown, path: string): unknown {
  let v = value;
  for (const name of path.split('.').filter(Boolean)) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[name];
  }
  return v;
}

/** One argument: .Path, $var.Path, "text", a number, or (expression).Path. */
function argument(word: string, dot: unknown, vars: Vars): unknown {
  if (word.startsWith('"')) return JSON.parse(word) as string;
  if (/^-?\d+$/u.test(word)) return Number(word);
  if (word.startsWith('(')) {
    const close = word.lastIndexOf(')');
    return field(evaluate(word.slice(1, close), dot, vars), word.slice(close + 1));
  }
  if (word.startsWith('$')) {
    const [name = '', ...path] = word.split('.');
    if (!vars.has(name)) fail(`undefined variable ${name}`);
    return field(vars.get(name), path.join('.'));
  }
  if (word.startsWith('.')) return field(dot, word);
  return fail(`"${word}" is not a field, a variable or a value`);
}

const FUNCTIONS: Readonly<Record<string, (args: unknown[]) => unknown>> = {
  json: ([v]) => JSON.stringify(v ?? null),
  index: ([v, ...keys]) => keys.reduce((acc, k) => (acc === null || typeof acc !== 'object' ? undefined : (acc as Record<string, unknown>)[String(k)]), v),
  join: ([list, sep]) => (Array.isArray(list) ? list.map(goString).join(String(sep ?? '')) : fail('join needs a list')),
  len: ([v]) => (Array.isArray(v) ? v.length : v && typeof v === 'object' ? Object.keys(v).length : String(v ?? '').length),
  println: (args) => `${args.map(goString).join(' ')}\n`,
  upper: ([v]) => goString(v).toUpperCase(),
  lower: ([v]) => goString(v).toLowerCase(),
};

function evaluate(expr: string, dot: unknown, vars: Vars): unknown {
  const [head, ...args] = words(expr);
  if (head === undefined) return fail('empty action');
  const fn = FUNCTIONS[head];
  if (fn) return fn(args.map((a) => argument(a, dot, vars)));
  if (args.length > 0) fail(`"${head}" is not a function (known: ${Object.keys(FUNCTIONS).join(', ')})`);
  return head === '.' ? dot : argument(head, dot, vars);
}

/** A value as Go's fmt prints it: map[k:v], [a b], <no value>. */
export function goString(v: unknown): string {
  if (v === undefined) return '<no value>';
  if (v === null) return '<nil>';
  if (Array.isArray(v)) return `[${v.map(goString).join(' ')}]`;
  if (typeof v === 'object') {
    return `map[${Object.keys(v)
      .sort()
      .map((k) => `${k}:${goString((v as Record<string, unknown>)[k])}`)
      .join(' ')}]`;
  }
  return String(v);
}

const truthy = (v: unknown): boolean => (Array.isArray(v) ? v.length > 0 : v && typeof v === 'object' ? Object.keys(v).length > 0 : Boolean(v) && v !== '0');

function render(nodes: readonly Node[], dot: unknown, vars: Vars): string {
  let out = '';
  for (const n of nodes) {
    if (n.kind === 'text') out += n.text;
    else if (n.kind === 'expr') {
      const v = evaluate(n.expr, dot, vars);
      out += typeof v === 'string' ? v : goString(v);
    } else if (n.kind === 'if') out += render(truthy(evaluate(n.expr, dot, vars)) ? n.body : n.otherwise, dot, vars);
    else {
      const v = evaluate(n.expr, dot, vars);
      const entries: [unknown, unknown][] = Array.isArray(v)
        ? v.map((x, i) => [i, x])
        : v && typeof v === 'object'
          ? Object.keys(v)
              .sort()
              .map((k) => [k, (v as Record<string, unknown>)[k]])
          : [];
      if (entries.length === 0) out += render(n.otherwise, dot, vars);
      for (const [k, x] of entries) {
        const inner = new Map(vars);
        if (n.key) inner.set(n.key, k);
        if (n.value) inner.set(n.value, x);
        out += render(n.body, x, inner);
      }
    }
  }
  return out;
}

/** Compiles a template once; the function renders it for one value. */
export function compileTemplate(source: string): (value: unknown) => string {
  const { nodes } = parse(lex(source), true);
  return (value) => render(nodes, value, new Map([['$', value]]));
}
