/**
 * The nftables backend: tsnet's `inet tsnet` table driven through nf_tables netlink messages, one transaction per
 * change and no process. It keeps what it last applied and sends only the difference (a network's chains and
 * elements, a port's elements); the first change, and the first after a failure or a loss, reads the table and
 * rewrites it whole, in one transaction too.
 */
import { TsnetError } from '../errors.js';
import type { Firewaller } from '../iptables/firewaller.js';
import type { NetworkFirewall } from '../iptables/rules.js';
import { SerialQueue } from '../lib/serial-queue.js';
import { NETLINK_NETFILTER } from '../netlink/nftables/constants.js';
import { nft, nftDump, orNothing, transaction, type SetElement } from '../netlink/nftables/messages.js';
import { NetlinkSocket, type NetlinkRequest } from '../netlink/socket.js';
import type { NetNs } from '../netns/netns.js';
import { IptablesForward } from './iptables-forward.js';
import { BASE_CHAINS, DesiredStateBuilder, PORTS_CHAIN, SETS, TABLE, USER_CHAIN, type NftRule, type NftState } from './ruleset.js';

export class NftablesError extends TsnetError {
  constructor(detail: string, cause?: unknown) {
    super('TSNET_ERR_FIREWALL', `nftables: ${detail}`, cause === undefined ? undefined : { cause });
  }
}

type Change = NetlinkRequest<unknown>;

const addRules = (chain: string, rules: readonly NftRule[]): Change[] => rules.map((r) => nft.newRule(TABLE, chain, r.exprs, r.comment));
const sameRules = (a: readonly NftRule[], b: readonly NftRule[]): boolean =>
  a.length === b.length && a.every((r, i) => r.text === b[i]!.text && r.comment === b[i]!.comment);
const sameElement = (a: SetElement, b: SetElement): boolean => JSON.stringify(a.value) === JSON.stringify(b.value);

/** The changes that turn `from` into `to`, in an order the kernel accepts within one transaction. */
export function diffState(from: NftState, to: NftState): Change[] {
  const changes: Change[] = [];
  for (const [name, rules] of to.chains) {
    const old = from.chains.get(name);
    if (!old) changes.push(nft.newChain(TABLE, name), ...addRules(name, rules));
    else if (!sameRules(old, rules)) changes.push(nft.flushChain(TABLE, name), ...addRules(name, rules));
  }
  for (const [set, want] of to.elements) {
    const have = from.elements.get(set) ?? new Map<string, SetElement>();
    const gone = [...have].filter(([k, e]) => !want.has(k) || !sameElement(e, want.get(k)!)).map(([, e]) => e);
    if (gone.length > 0) changes.push(...nft.delElements(TABLE, set, gone));
  }
  for (const [set, want] of to.elements) {
    const have = from.elements.get(set) ?? new Map<string, SetElement>();
    const added = [...want].filter(([k, e]) => !have.has(k) || !sameElement(have.get(k)!, e)).map(([, e]) => e);
    if (added.length > 0) changes.push(...nft.newElements(TABLE, set, added));
  }
  for (const name of from.chains.keys()) if (!to.chains.has(name)) changes.push(nft.flushChain(TABLE, name), nft.delChain(TABLE, name));
  return changes;
}

const FIXED_CHAINS = new Set([...BASE_CHAINS.map((c) => c.name), PORTS_CHAIN.name, USER_CHAIN]);

/** The changes that make the table, whatever it holds now (chains and sets read from it), hold exactly `to`. */
export function rewriteState(existing: { chains: readonly string[]; sets: readonly string[] }, to: NftState): Change[] {
  const known = new Set(SETS.map((s) => s.name));
  const stale = existing.chains.filter((c) => c !== USER_CHAIN);
  return [
    nft.newTable(TABLE),
    ...stale.map((c) => nft.flushChain(TABLE, c)),
    ...existing.sets.map((s) => nft.flushSet(TABLE, s)),
    ...stale.filter((c) => !FIXED_CHAINS.has(c) && !to.chains.has(c)).map((c) => nft.delChain(TABLE, c)),
    ...existing.sets.filter((s) => !known.has(s)).map((s) => nft.delSet(TABLE, s)),
    ...SETS.map((s) => nft.newSet(TABLE, s)),
    nft.newChain(TABLE, USER_CHAIN),
    nft.newChain(TABLE, PORTS_CHAIN.name),
    ...BASE_CHAINS.map((c) => nft.newChain(TABLE, c.name, c.spec)),
    ...[...to.chains.keys()].map((c) => nft.newChain(TABLE, c)),
    ...BASE_CHAINS.flatMap((c) => addRules(c.name, c.rules)),
    ...addRules(PORTS_CHAIN.name, PORTS_CHAIN.rules),
    ...[...to.chains].flatMap(([c, rules]) => addRules(c, rules)),
    ...[...to.elements].flatMap(([set, elements]) => (elements.size > 0 ? nft.newElements(TABLE, set, [...elements.values()]) : [])),
  ];
}

/** Whether the kernel of ns speaks nfnetlink (nf_tables comes with it): a socket opened and closed. */
export function nftablesAvailable(ns: NetNs): boolean {
  try {
    NetlinkSocket.open(ns.path, {}, NETLINK_NETFILTER).close();
    return true;
  } catch {
    return false;
  }
}

export class NftablesFirewaller implements Firewaller {
  /** What the kernel holds, as last applied; undefined: unknown, read the table and rewrite it. */
  private applied: NftState | undefined;
  private readonly queue = new SerialQueue();
  private readonly states = new DesiredStateBuilder();
  private readonly forward = new IptablesForward(() => this.sock());
  private socket: NetlinkSocket | undefined;

  constructor(private readonly ns: NetNs) {}

  private sock(): NetlinkSocket {
    if (!this.socket || this.socket.closed) this.socket = NetlinkSocket.open(this.ns.path, {}, NETLINK_NETFILTER);
    return this.socket;
  }

  private async existing(): Promise<{ chains: string[]; sets: string[] }> {
    const chains = await orNothing(this.sock().request(nftDump.chains(TABLE)));
    const sets = await orNothing(this.sock().request(nftDump.sets(TABLE)));
    return { chains: chains.map((c) => c.name), sets };
  }

  private async commit(changes: readonly Change[]): Promise<void> {
    if (changes.length === 0) return;
    try {
      await this.sock().transaction(transaction(changes));
    } catch (err) {
      throw new NftablesError(`the transaction was refused, nothing of it applied: ${err instanceof Error ? err.message : String(err)}`, err);
    }
  }

  apply(networks: readonly NetworkFirewall[]): Promise<void> {
    return this.queue.run(async () => {
      const want = this.states.build(networks);
      const had = this.applied;
      this.applied = undefined;
      // iptables' dropping FORWARD chains get their accepts for tsnet's bridges in the same transaction. When the
      // state is unknown, or someone changed the table behind tsnet's back so that the difference no longer
      // applies, everything is read and rewritten, still in one transaction.
      const done =
        had !== undefined &&
        (await this.commit([...diffState(had, want), ...(await this.forward.changes(networks))]).then(
          () => true,
          () => false,
        ));
      if (!done) {
        this.forward.forget();
        await this.commit([...rewriteState(await this.existing(), want), ...(await this.forward.changes(networks))]);
      }
      this.forward.committed();
      this.applied = want;
    });
  }

  missing(networks: readonly NetworkFirewall[]): Promise<string[]> {
    return this.queue.run(async () => {
      const lacking = [...(await this.lacking(this.states.build(networks))), ...(await this.forward.missing(networks))];
      if (lacking.length > 0) {
        this.applied = undefined;
        this.forward.forget();
      }
      return lacking.map((l) => `nftables: ${l}`);
    });
  }

  private async lacking(want: NftState): Promise<string[]> {
    const { chains, sets } = await this.existing();
    if (chains.length === 0 && sets.length === 0) return [`table inet ${TABLE}`];
    // A rule is known by its chain and comment: what is missing is a shortfall in their count.
    const count = new Map<string, number>();
    for (const r of await orNothing(this.sock().request(nftDump.rules(TABLE))))
      count.set(`${r.chain} ${r.comment}`, (count.get(`${r.chain} ${r.comment}`) ?? 0) + 1);
    const expected = [...BASE_CHAINS.map((c) => [c.name, c.rules] as const), [PORTS_CHAIN.name, PORTS_CHAIN.rules] as const, ...want.chains];
    const out: string[] = [];
    const present = new Set(chains);
    if (!present.has(USER_CHAIN)) out.push(`chain ${USER_CHAIN}`);
    for (const [chain, list] of expected) {
      if (!present.has(chain)) out.push(`chain ${chain}`);
      else
        for (const r of list) {
          const left = count.get(`${chain} ${r.comment}`) ?? 0;
          if (left === 0) out.push(`rule "${r.text}" in chain ${chain}`);
          count.set(`${chain} ${r.comment}`, left - 1);
        }
    }
    for (const s of SETS) {
      if (!sets.includes(s.name)) {
        out.push(`set ${s.name}`);
        continue;
      }
      // One dump at a time: a netlink socket refuses a second dump while one runs (EBUSY).
      const have = new Set((await this.sock().request(nftDump.elements(TABLE, s.name))).flat().map((e) => e.key.toString('hex')));
      for (const [key, e] of want.elements.get(s.name) ?? []) if (!have.has(key)) out.push(`element ${describe(e)} of set ${s.name}`);
    }
    return out;
  }

  teardown(): Promise<void> {
    return this.queue.run(async () => {
      const { chains, sets } = await this.existing();
      const ours = chains.filter((c) => c !== USER_CHAIN);
      this.applied = undefined;
      this.forward.forget();
      await this.commit([
        ...(await this.forward.changes([])),
        ...ours.map((c) => nft.flushChain(TABLE, c)),
        ...sets.map((s) => nft.flushSet(TABLE, s)),
        ...ours.map((c) => nft.delChain(TABLE, c)),
        ...sets.map((s) => nft.delSet(TABLE, s)),
      ]);
    });
  }

  close(): void {
    this.socket?.close();
  }
}

/** An element in words. */
const describe = (e: SetElement): string => e.label ?? e.key.toString('hex');
