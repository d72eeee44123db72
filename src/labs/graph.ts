/**
 * A topology drawn as Graphviz dot or Mermaid text: nodes labelled with their kind (and management address when
 * deployed; kinds tsnet cannot run are marked), links labelled with their interface names. Pure.
 */
import type { Topology } from './types.js';

export type GraphFormat = 'dot' | 'mermaid';

const RUNNABLE = new Set(['linux', 'bridge']);

const label = (t: Topology, name: string, mgmt: Readonly<Record<string, string>>): string => {
  const n = t.nodes.find((x) => x.name === name)!;
  const kind = RUNNABLE.has(n.kind) ? n.kind : `${n.kind} (not run by tsnet)`;
  return [name, kind, ...(mgmt[name] ? [mgmt[name]] : [])].join('\\n');
};

/** mgmt: management addresses by node, when the lab is deployed. */
export function renderGraph(t: Topology, format: GraphFormat, mgmt: Readonly<Record<string, string>> = {}): string {
  const id = (name: string): string => `n_${name.replace(/[^A-Za-z0-9_]/gu, '_')}`;
  if (format === 'dot') {
    return [
      `graph "${t.name}" {`,
      '  node [shape=box, style=rounded];',
      ...t.nodes.map(
        (n) =>
          `  ${id(n.name)} [label="${label(t, n.name, mgmt)}"${n.kind === 'bridge' ? ', shape=ellipse' : ''}${RUNNABLE.has(n.kind) ? '' : ', style=dashed'}];`,
      ),
      ...t.links.map((l) => `  ${id(l.a.node)} -- ${id(l.b.node)} [taillabel="${l.a.iface}", headlabel="${l.b.iface}"];`),
      '}',
      '',
    ].join('\n');
  }
  return [
    'graph LR',
    ...t.nodes.map(
      (n) => `  ${id(n.name)}${n.kind === 'bridge' ? '((' : '['}"${label(t, n.name, mgmt).replace(/\\n/gu, '<br/>')}"${n.kind === 'bridge' ? '))' : ']'}`,
    ),
    ...t.links.map((l) => `  ${id(l.a.node)} ---|"${l.a.iface} - ${l.b.iface}"| ${id(l.b.node)}`),
    '',
  ].join('\n');
}
