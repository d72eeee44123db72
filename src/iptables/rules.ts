/**
 * tsnet's firewall as data: the iptables-restore input that makes the kernel's rules match the networks. Pure.
 *
 * filter: FORWARD jumps to TSNET-USER (the user's, created once, never flushed), TSNET-ISOLATION-STAGE-1 (no
 *         traffic between different tsnet bridges) and TSNET-FORWARD (per network: replies in, out to the world,
 *         inter-container traffic allowed or dropped; internal networks closed both ways).
 * nat:    POSTROUTING jumps to TSNET-POSTROUTING (MASQUERADE of each network's subnet leaving by another interface);
 *         PREROUTING and OUTPUT jump to TSNET for traffic to the host's own addresses (DNAT of published ports).
 *         PREROUTING skips 127.0.0.0/8: a port published on 127.0.0.1 is reached only from the host itself.
 * IPv6 gets the same but masquerade of subnets (tsnet does not NAT IPv6 outbound, as Docker).
 *
 * Every tsnet chain but TSNET-USER is rewritten whole on each change (`:CHAIN - [0:0]` under --noflush flushes just
 * that chain), so deleting a network removes exactly its rules, in the same single batch as everything else.
 */

import { portRules, type IpFamily, type PublishedPort } from './port-rules.js';

export type { IpFamily, PublishedPort };

export interface NetworkFirewall {
  readonly id: string;
  readonly bridge: string;
  /** IPv4 subnets of the network. */
  readonly subnets: readonly string[];
  readonly subnets6: readonly string[];
  readonly internal: boolean;
  /** Inter-container communication on the bridge. */
  readonly icc: boolean;
  readonly masquerade: boolean;
  /** gateway_mode routed: no NAT; published container ports are opened to direct traffic. */
  readonly routed: boolean;
  readonly published: readonly PublishedPort[];
}

/** What exists already in the namespace: read once from iptables-save at start-up. */
export interface FirewallBase {
  readonly userChainExists: boolean;
  /** Jumps from built-in chains already in place, as "FORWARD -j TSNET-USER". */
  readonly jumps: ReadonlySet<string>;
}

export const CHAINS = {
  user: 'TSNET-USER',
  forward: 'TSNET-FORWARD',
  isolation1: 'TSNET-ISOLATION-STAGE-1',
  isolation2: 'TSNET-ISOLATION-STAGE-2',
  postrouting: 'TSNET-POSTROUTING',
  nat: 'TSNET',
} as const;

interface Jump {
  readonly table: 'filter' | 'nat';
  readonly chain: string;
  readonly target: string;
  /** Matches before the comment, by family. */
  readonly match?: Readonly<Record<IpFamily, string>>;
}

const LOCAL = '-m addrtype --dst-type LOCAL';

/** Jumps from built-in chains, in the order they must stand at the top of their chain. */
export const JUMPS: readonly Jump[] = [
  { table: 'filter', chain: 'FORWARD', target: CHAINS.user },
  { table: 'filter', chain: 'FORWARD', target: CHAINS.isolation1 },
  { table: 'filter', chain: 'FORWARD', target: CHAINS.forward },
  { table: 'nat', chain: 'POSTROUTING', target: CHAINS.postrouting },
  { table: 'nat', chain: 'PREROUTING', target: CHAINS.nat, match: { 4: `! -d 127.0.0.0/8 ${LOCAL}`, 6: `! -d ::1/128 ${LOCAL}` } },
  { table: 'nat', chain: 'OUTPUT', target: CHAINS.nat, match: { 4: LOCAL, 6: `! -d ::1/128 ${LOCAL}` } },
];

const jumpRule = (op: '-D' | '-A' | '-I 1', j: Jump, family: IpFamily): string =>
  `${op.replace(' 1', '')} ${j.chain}${op === '-I 1' ? ' 1' : ''}${j.match ? ` ${j.match[family]}` : ''} -m comment --comment tsnet -j ${j.target}`;

export const jumpKey = (chain: string, target: string): string => `${chain} -j ${target}`;

const comment = (id: string): string => `-m comment --comment tsnet:${id}`;

/** The rules of one network of one family, by table. */
export function networkRules(net: NetworkFirewall, family: IpFamily = 4): { filter: string[]; nat: string[] } {
  const c = comment(net.id);
  const ports = portRules(net, family, CHAINS.forward, CHAINS.postrouting, c);
  const br = net.bridge;
  const filter: string[] = [`-A ${CHAINS.isolation1} -i ${br} ! -o ${br} ${c} -j ${CHAINS.isolation2}`, `-A ${CHAINS.isolation2} -o ${br} ${c} -j DROP`];
  if (net.internal) {
    filter.push(`-A ${CHAINS.forward} -i ${br} ! -o ${br} ${c} -j DROP`, `-A ${CHAINS.forward} -o ${br} ! -i ${br} ${c} -j DROP`);
  } else {
    filter.push(
      `-A ${CHAINS.forward} -o ${br} -m conntrack --ctstate RELATED,ESTABLISHED ${c} -j ACCEPT`,
      `-A ${CHAINS.forward} -i ${br} ! -o ${br} ${c} -j ACCEPT`,
    );
  }
  filter.push(`-A ${CHAINS.forward} -i ${br} -o ${br} ${c} -j ${net.icc ? 'ACCEPT' : 'DROP'}`);
  if (net.internal) return { filter, nat: [] };
  // As Docker 28: from outside, only published ports (and in routed mode ICMP) reach the containers.
  filter.push(...ports.forward);
  if (net.routed) filter.push(`-A ${CHAINS.forward} ! -i ${br} -o ${br} -p ${family === 4 ? 'icmp' : 'ipv6-icmp'} ${c} -j ACCEPT`);
  filter.push(`-A ${CHAINS.forward} ! -i ${br} -o ${br} ${c} -j DROP`);
  const masquerade =
    family === 4 && net.masquerade && !net.routed ? net.subnets.map((s) => `-A ${CHAINS.postrouting} -s ${s} ! -o ${br} ${c} -j MASQUERADE`) : [];
  return { filter, nat: [...ports.dnat, ...ports.postrouting, ...masquerade] };
}

const NAT_CHAINS = [CHAINS.postrouting, CHAINS.nat];
const FILTER_CHAINS = [CHAINS.isolation1, CHAINS.isolation2, CHAINS.forward];

/** The whole iptables-restore (or ip6tables-restore) --noflush input for these networks. */
export function renderRuleset(networks: readonly NetworkFirewall[], base: FirewallBase, family: IpFamily = 4): string {
  const filter: string[] = ['*filter'];
  if (!base.userChainExists) filter.push(`:${CHAINS.user} - [0:0]`);
  filter.push(...FILTER_CHAINS.map((c) => `:${c} - [0:0]`));
  const nat: string[] = ['*nat', ...NAT_CHAINS.map((c) => `:${c} - [0:0]`)];
  // The jumps must stand at the top of their built-in chain in JUMPS order: when any of a chain's is missing,
  // that chain's are all removed and inserted again, last first.
  for (const chain of new Set(JUMPS.map((j) => j.chain))) {
    const ours = JUMPS.filter((j) => j.chain === chain);
    if (ours.every((j) => base.jumps.has(jumpKey(j.chain, j.target)))) continue;
    for (const j of ours) {
      if (base.jumps.has(jumpKey(j.chain, j.target))) (j.table === 'filter' ? filter : nat).push(jumpRule('-D', j, family));
    }
    for (const j of [...ours].reverse()) (j.table === 'filter' ? filter : nat).push(jumpRule('-I 1', j, family));
  }
  for (const net of networks) {
    const rules = networkRules(net, family);
    filter.push(...rules.filter);
    nat.push(...rules.nat);
  }
  return [...filter, 'COMMIT', ...nat, 'COMMIT', ''].join('\n');
}

/** The rules and jumps of these networks that an iptables-save output lacks, as iptables-save would print them. */
export function missingRules(networks: readonly NetworkFirewall[], save: string, family: IpFamily = 4): string[] {
  const norm = (line: string): string => line.replace(/"/gu, '').replace(/\s+/gu, ' ').trim();
  const have = new Set(save.split('\n').map(norm));
  const base = parseBase(save);
  const missing = JUMPS.filter((j) => !base.jumps.has(jumpKey(j.chain, j.target))).map((j) => jumpRule('-A', j, family));
  for (const net of networks) {
    const rules = networkRules(net, family);
    for (const rule of [...rules.filter, ...rules.nat]) if (!have.has(norm(rule))) missing.push(rule);
  }
  return missing;
}

/** The jumps a family's chains need, all present (what a successful batch leaves). */
export const allJumps = (): FirewallBase => ({ userChainExists: true, jumps: new Set(JUMPS.map((j) => jumpKey(j.chain, j.target))) });

/** The input that removes every tsnet chain and jump but TSNET-USER (used when tsnet is uninstalled or reset). */
export function renderTeardown(base: FirewallBase, family: IpFamily = 4): string {
  const filter = ['*filter'];
  const nat = ['*nat'];
  for (const j of JUMPS) {
    if (base.jumps.has(jumpKey(j.chain, j.target)) && j.target !== CHAINS.user) (j.table === 'filter' ? filter : nat).push(jumpRule('-D', j, family));
  }
  filter.push(...FILTER_CHAINS.map((c) => `:${c} - [0:0]`), ...FILTER_CHAINS.map((c) => `-X ${c}`));
  nat.push(...NAT_CHAINS.map((c) => `:${c} - [0:0]`), ...NAT_CHAINS.map((c) => `-X ${c}`));
  return [...filter, 'COMMIT', ...nat, 'COMMIT', ''].join('\n');
}

/** Reads what exists from iptables-save output. */
export function parseBase(save: string): FirewallBase {
  const jumps = new Set<string>();
  let userChainExists = false;
  for (const line of save.split('\n')) {
    if (line.startsWith(`:${CHAINS.user} `)) userChainExists = true;
    const m = /^-A (FORWARD|POSTROUTING|PREROUTING|OUTPUT) .*-j (TSNET[A-Z0-9-]*)\s*$/u.exec(line);
    if (m) jumps.add(jumpKey(m[1]!, m[2]!));
  }
  return { userChainExists, jumps };
}
