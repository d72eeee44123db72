/**
 * tsnet's firewall as data: the iptables-restore input that makes the kernel's rules match the networks. Pure.
 *
 * filter: FORWARD jumps to TSNET-USER (the user's, created once, never flushed), TSNET-ISOLATION-STAGE-1 (no
 *         traffic between different tsnet bridges) and TSNET-FORWARD (per network: replies in, out to the world,
 *         inter-container traffic allowed or dropped; internal networks closed both ways).
 * nat:    POSTROUTING jumps to TSNET-POSTROUTING (MASQUERADE of each network's subnet leaving by another interface).
 *
 * Every tsnet chain but TSNET-USER is rewritten whole on each change (`:CHAIN - [0:0]` under --noflush flushes just
 * that chain), so deleting a network removes exactly its rules, in the same single batch as everything else.
 */

export interface NetworkFirewall {
  readonly id: string;
  readonly bridge: string;
  /** Subnets of the network, of the family of the rules being made (IPv4 for iptables, IPv6 for ip6tables). */
  readonly subnets: readonly string[];
  readonly internal: boolean;
  /** Inter-container communication on the bridge. */
  readonly icc: boolean;
  readonly masquerade: boolean;
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

/** Jumps from built-in chains, in the order they must stand at the top of their chain. */
export const JUMPS: readonly { readonly table: 'filter' | 'nat'; readonly chain: string; readonly target: string }[] = [
  { table: 'filter', chain: 'FORWARD', target: CHAINS.user },
  { table: 'filter', chain: 'FORWARD', target: CHAINS.isolation1 },
  { table: 'filter', chain: 'FORWARD', target: CHAINS.forward },
  { table: 'nat', chain: 'POSTROUTING', target: CHAINS.postrouting },
];

export const jumpKey = (chain: string, target: string): string => `${chain} -j ${target}`;

const comment = (id: string): string => `-m comment --comment tsnet:${id}`;

/** The rules of one network, by table. */
export function networkRules(net: NetworkFirewall): { filter: string[]; nat: string[] } {
  const c = comment(net.id);
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
  const nat = net.internal || !net.masquerade ? [] : net.subnets.map((s) => `-A ${CHAINS.postrouting} -s ${s} ! -o ${br} ${c} -j MASQUERADE`);
  return { filter, nat };
}

/** Which tables a family's rules use: IPv6 gets the filter rules only (tsnet does not NAT IPv6, as Docker). */
export type IpFamily = 4 | 6;
const jumpsOf = (family: IpFamily) => JUMPS.filter((j) => family === 4 || j.table === 'filter');

/** The whole iptables-restore (or ip6tables-restore) --noflush input for these networks. */
export function renderRuleset(networks: readonly NetworkFirewall[], base: FirewallBase, family: IpFamily = 4): string {
  const filter: string[] = ['*filter'];
  if (!base.userChainExists) filter.push(`:${CHAINS.user} - [0:0]`);
  filter.push(`:${CHAINS.isolation1} - [0:0]`, `:${CHAINS.isolation2} - [0:0]`, `:${CHAINS.forward} - [0:0]`);
  const nat: string[] = ['*nat', `:${CHAINS.postrouting} - [0:0]`];
  // The jumps must stand at the top of their built-in chain in JUMPS order: when any of a chain's is missing,
  // that chain's are all removed and inserted again, last first.
  for (const chain of new Set(jumpsOf(family).map((j) => j.chain))) {
    const ours = jumpsOf(family).filter((j) => j.chain === chain);
    if (ours.every((j) => base.jumps.has(jumpKey(j.chain, j.target)))) continue;
    for (const j of ours) {
      const table = j.table === 'filter' ? filter : nat;
      if (base.jumps.has(jumpKey(j.chain, j.target))) table.push(`-D ${j.chain} -m comment --comment tsnet -j ${j.target}`);
    }
    for (const j of [...ours].reverse()) (j.table === 'filter' ? filter : nat).push(`-I ${j.chain} 1 -m comment --comment tsnet -j ${j.target}`);
  }
  for (const net of networks) {
    const rules = networkRules(net);
    filter.push(...rules.filter);
    nat.push(...rules.nat);
  }
  return [...filter, 'COMMIT', ...(family === 4 ? [...nat, 'COMMIT'] : []), ''].join('\n');
}

/** The rules and jumps of these networks that an iptables-save output lacks, as iptables-save would print them. */
export function missingRules(networks: readonly NetworkFirewall[], save: string, family: IpFamily = 4): string[] {
  const norm = (line: string): string => line.replace(/"/gu, '').replace(/\s+/gu, ' ').trim();
  const have = new Set(save.split('\n').map(norm));
  const base = parseBase(save);
  const missing = jumpsOf(family)
    .filter((j) => !base.jumps.has(jumpKey(j.chain, j.target)))
    .map((j) => `-A ${j.chain} -m comment --comment tsnet -j ${j.target}`);
  for (const net of networks) {
    const rules = networkRules(net);
    for (const rule of [...rules.filter, ...(family === 4 ? rules.nat : [])]) if (!have.has(norm(rule))) missing.push(rule);
  }
  return missing;
}

/** The jumps a family's chains need, all present (what a successful batch leaves). */
export const allJumps = (family: IpFamily): FirewallBase => ({ userChainExists: true, jumps: new Set(jumpsOf(family).map((j) => jumpKey(j.chain, j.target))) });

/** The input that removes every tsnet chain and jump but TSNET-USER (used when tsnet is uninstalled or reset). */
export function renderTeardown(base: FirewallBase, family: IpFamily = 4): string {
  const filter = ['*filter'];
  const nat = ['*nat'];
  for (const j of jumpsOf(family)) {
    if (base.jumps.has(jumpKey(j.chain, j.target)) && j.target !== CHAINS.user) {
      (j.table === 'filter' ? filter : nat).push(`-D ${j.chain} -m comment --comment tsnet -j ${j.target}`);
    }
  }
  filter.push(`:${CHAINS.isolation1} - [0:0]`, `:${CHAINS.isolation2} - [0:0]`, `:${CHAINS.forward} - [0:0]`);
  filter.push(`-X ${CHAINS.isolation1}`, `-X ${CHAINS.isolation2}`, `-X ${CHAINS.forward}`);
  nat.push(`:${CHAINS.postrouting} - [0:0]`, `-X ${CHAINS.postrouting}`);
  return [...filter, 'COMMIT', ...(family === 4 ? [...nat, 'COMMIT'] : []), ''].join('\n');
}

/** Reads what exists from iptables-save output. */
export function parseBase(save: string): FirewallBase {
  const jumps = new Set<string>();
  let userChainExists = false;
  for (const line of save.split('\n')) {
    if (line.startsWith(`:${CHAINS.user} `)) userChainExists = true;
    const m = /^-A (FORWARD|POSTROUTING) .*-j (TSNET[A-Z0-9-]*)\s*$/u.exec(line);
    if (m) jumps.add(jumpKey(m[1]!, m[2]!));
  }
  return { userChainExists, jumps };
}
