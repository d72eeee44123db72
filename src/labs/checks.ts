/** What a topology's schema cannot say, checked with the file's lines: kinds, names, addresses, links. Pure. */
import { isIPv4, isIPv6 } from 'node:net';
import { checkExpectation } from '../lib/experiment-stats.js';
import { parseDuration, parseImpairment, type ImpairmentInput } from '../lib/impairment.js';
import type { Locate, Topology } from './types.js';

const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/u;
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/iu;
const KINDS = new Set(['linux', 'bridge']);
/** Kinds of containerlab's that are network operating systems in vendor images: drawn, never run. */
const VENDOR =
  /^(nokia_|srl|ceos|arista_|juniper_|crpd|vr-|cisco_|xrd|sonic|cumulus|fortinet|paloalto|checkpoint|huawei|ipinfusion|openbsd|freebsd|6wind|rare|keysight|c8000|vjunos|ext-container|host|ovs-bridge|k8s-kind)/u;

function isCidr(s: string): boolean {
  const [a, len, ...rest] = s.split('/');
  const max = isIPv4(a ?? '') ? 32 : isIPv6(a ?? '') ? 128 : -1;
  return rest.length === 0 && max > 0 && /^\d{1,3}$/u.test(len ?? '') && Number(len) <= max;
}

/** One node's problems. */
export function checkNodeSemantics(t: Topology, name: string, locate: Locate, forDrawing = false, companion?: Locate): string[] {
  const n = t.nodes.find((x) => x.name === name)!;
  const at = (...k: (string | number)[]): string => locate(['topology', 'nodes', name, ...k]);
  const extra = (...k: (string | number)[]): string => `companion ${companion ? companion(['nodes', name, ...k]) : ['nodes', name, ...k].join('.')}`;
  const out: string[] = [];
  if (forDrawing) return out;
  if (!KINDS.has(n.kind)) {
    out.push(
      VENDOR.test(n.kind)
        ? `${at('kind')}: kind "${n.kind}" is a vendor network OS image, which tsnet cannot run (it runs linux and bridge nodes)`
        : `${at('kind')}: unknown kind "${n.kind}" (tsnet runs linux and bridge)`,
    );
  }
  if (n.kind === 'linux' && !n.image) out.push(`${at()}: a linux node needs an image`);
  for (const [i, b] of (n.binds ?? []).entries()) {
    const [host = '', target = '', mode, ...rest] = b.split(':');
    if (!host || !target.startsWith('/') || rest.length || (mode !== undefined && mode !== 'ro' && mode !== 'rw')) {
      out.push(`${at('binds', i)}: "${b}" is not HOST:CONTAINER[:ro|rw] with an absolute CONTAINER path`);
    }
  }
  if (n.networkMode !== 'bridge' && n.networkMode !== 'none')
    out.push(`${at('network-mode')}: "${n.networkMode}" is not supported (none, or the management network)`);
  if (n.mgmtIpv4 && !isIPv4(n.mgmtIpv4)) out.push(`${at('mgmt-ipv4')}: "${n.mgmtIpv4}" is not an IPv4 address`);
  if (n.mgmtIpv6 && !isIPv6(n.mgmtIpv6)) out.push(`${at('mgmt-ipv6')}: "${n.mgmtIpv6}" is not an IPv6 address`);
  for (const key of Object.keys(n.sysctls)) {
    if (!/^net\.[A-Za-z0-9_.-]+$/u.test(key)) out.push(`${at('sysctls', key)}: only network sysctls (net.*) belong to a node's namespace`);
  }
  for (const [iface, input] of Object.entries(n.impair)) {
    try {
      parseImpairment(input, extra('interfaces', iface, 'impair'));
    } catch (err) {
      out.push((err as Error).message);
    }
  }
  for (const [iface, addresses] of Object.entries(n.addresses)) {
    addresses.forEach((a, i) => {
      if (!isCidr(a)) out.push(`${extra('interfaces', iface, 'addresses', i)}: "${a}" is not an address with a prefix length`);
    });
  }
  n.routes.forEach((r, i) => {
    if (r.dst !== 'default' && !isCidr(r.dst)) out.push(`${extra('routes', i)}: "${r.dst}" is not a destination prefix`);
    if (r.via && !isIPv4(r.via) && !isIPv6(r.via)) out.push(`${extra('routes', i)}: "${r.via}" is not a gateway address`);
  });
  return out;
}

/** Links: known nodes, valid and unique interfaces, eth0 left to the management network. */
export function checkLinks(t: Topology, locate: Locate, companionLocate?: Locate): string[] {
  const out: string[] = [];
  const used = new Map<string, number>();
  const byName = new Map(t.nodes.map((n) => [n.name, n]));
  t.links.forEach((l, i) => {
    for (const [side, e] of [
      [0, l.a],
      [1, l.b],
    ] as const) {
      // Located only for a problem: finding a line means reading the file again with positions.
      const at = (): string => locate(['topology', 'links', i, 'endpoints', side]);
      const node = byName.get(e.node);
      if (!node) {
        out.push(`${at()}: link to unknown node "${e.node}"`);
        continue;
      }
      if (!IFNAME.test(e.iface)) out.push(`${at()}: "${e.iface}" is not an interface name (1 to 15 letters, digits, "_", "-", ".")`);
      if (e.iface === 'eth0' && node.kind === 'linux' && node.networkMode === 'bridge') out.push(`${at()}: eth0 of "${e.node}" is its management interface`);
      if (e.mac && !MAC.test(e.mac)) out.push(`${at()}: "${e.mac}" is not a MAC address`);
      const key = `${e.node}:${e.iface}`;
      if (used.has(key)) out.push(`${at()}: interface ${key} is already used by link ${used.get(key)! + 1}`);
      used.set(key, i);
    }
    if (l.a.node === l.b.node && l.a.iface === l.b.iface) out.push(`${locate(['topology', 'links', i])}: a link cannot join an interface to itself`);
    if (byName.get(l.a.node)?.kind === 'bridge' && byName.get(l.b.node)?.kind === 'bridge') {
      out.push(`${locate(['topology', 'links', i])}: a link between two bridge nodes is not supported`);
    }
  });
  for (const n of t.nodes) {
    for (const iface of Object.keys(n.addresses)) {
      if (iface !== 'lo' && !used.has(`${n.name}:${iface}`)) {
        out.push(
          `${companionLocate?.(['nodes', n.name, 'interfaces', iface]) ?? `nodes.${n.name}.interfaces.${iface}`}: no link gives ${n.name} an interface ${iface}`,
        );
      }
    }
  }
  return out;
}

/** The companion file's events: a time, an end of a link, and a change that can be applied. */
export function checkEvents(
  t: Topology,
  events: readonly { at: string | number; set?: ImpairmentInput; clear?: boolean; state?: string }[],
  locate?: Locate,
): string[] {
  const out: string[] = [];
  const ends = new Set(t.links.flatMap((l) => [`${l.a.node}:${l.a.iface}`, `${l.b.node}:${l.b.iface}`]));
  t.events.forEach((e, i) => {
    const at = `companion ${locate ? locate(['events', i]) : `events.${i}`}`;
    try {
      parseDuration(events[i]!.at, at, 'at');
    } catch (err) {
      out.push((err as Error).message);
    }
    if (!ends.has(e.endpoint)) out.push(`${at}: ${e.endpoint} is not an end of a link (NODE:IFACE)`);
    if (!e.set && !e.clear && !e.state) out.push(`${at}: an event sets, clears or changes the state of an end (set, clear, state)`);
    if (e.set) {
      try {
        parseImpairment(e.set, at);
      } catch (err) {
        out.push((err as Error).message);
      }
    }
  });
  return out;
}

/** The metrics each kind of experiment measures. */
export const EXPERIMENT_METRICS: Readonly<Record<string, readonly string[]>> = {
  ping: ['rtt_ms', 'loss_pct'],
  iperf3: ['throughput_mbit'],
  matrix: ['rtt_ms', 'loss_pct'],
};

/** The companion file's experiments: one kind each, nodes that are linux nodes, expectations on their metrics. */
export function checkExperiments(t: Topology, locate?: Locate): string[] {
  const out: string[] = [];
  const linux = new Set(t.nodes.filter((n) => n.kind === 'linux').map((n) => n.name));
  t.experiments.forEach((x, i) => {
    const at = `companion ${locate ? locate(['experiments', i]) : `experiments.${i}`}`;
    const kinds = (['ping', 'iperf3', 'matrix'] as const).filter((k) => x[k]);
    if (kinds.length !== 1) return void out.push(`${at}: an experiment is one of ping, iperf3 or matrix`);
    const nodes = x.ping ? [x.ping.from] : x.iperf3 ? [x.iperf3.from, x.iperf3.to] : [...(x.matrix!.nodes ?? []), ...Object.keys(x.matrix!.targets ?? {})];
    for (const n of nodes) if (!linux.has(n)) out.push(`${at}: "${n}" is not a linux node of the lab`);
    const interval = x.ping?.interval ?? x.matrix?.interval;
    if (interval !== undefined) {
      try {
        parseDuration(interval, at, 'interval');
      } catch (err) {
        out.push((err as Error).message);
      }
    }
    try {
      checkExpectation(x.expect ?? {}, EXPERIMENT_METRICS[kinds[0]!]!, at);
    } catch (err) {
      out.push((err as Error).message);
    }
  });
  if (new Set(t.experiments.map((x) => x.name)).size !== t.experiments.length) out.push('companion experiments: names must be unique');
  return out;
}
