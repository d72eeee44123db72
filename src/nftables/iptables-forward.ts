/**
 * Living beside iptables' FORWARD chains that drop by default. dockerd, in its default iptables mode, sets the
 * policy of iptables' FORWARD chain to DROP; with iptables-nft that chain is a base chain of its own (`ip filter`,
 * `ip6 filter`), and nf_tables lets every base chain drop a packet that another one accepted. So where such a chain
 * exists, each tsnet bridge gets two rules appended to it, `-i BRIDGE -j ACCEPT` and `-o BRIDGE -j ACCEPT` (with the
 * comment tsnet:ID, as iptables-save shows them), sent in the same transaction as the changes of tsnet's own table:
 * tsnet's table alone then decides what its bridges forward. Nothing else of those chains is read or changed.
 *
 * What was last committed is kept, so that a change reads those chains only when it removes a network's accepts
 * (their handles are needed) or adds a network while they did not drop (dockerd turns them to drop at its start,
 * maybe after tsnet's); the periodic check reads them afresh and finds a chain that turned to drop later.
 */
import { NFPROTO_IPV4, NFPROTO_IPV6 } from '../netlink/nftables/constants.js';
import { nft, nftDump, orNothing, type RuleInfo } from '../netlink/nftables/messages.js';
import type { NetlinkRequest, NetlinkSocket } from '../netlink/socket.js';
import { match, verdicts } from './matches.js';

/** A network as this module sees it: its id (the rules' tag) and its bridge. */
export interface Bridged {
  readonly id: string;
  readonly bridge: string;
}

const TABLE = 'filter';
const CHAIN = 'FORWARD';
const FAMILIES = [
  { family: NFPROTO_IPV4, name: 'ip' },
  { family: NFPROTO_IPV6, name: 'ip6' },
] as const;
const DROP = 0;

const tag = (id: string): string => `tsnet:${id}`;

const accepts = (family: number, net: Bridged): NetlinkRequest<void>[] =>
  [match.iifname(net.bridge), match.oifname(net.bridge)].map((m) => nft.newRule(TABLE, CHAIN, [...m.exprs, ...verdicts.accept().exprs], tag(net.id), family));

/** By family whose FORWARD chain drops by default: the ids of the networks whose accepts are in it. */
type Placed = Map<number, Set<string>>;

export class IptablesForward {
  /** As last committed; undefined: unknown, read the chains. */
  private known: Placed | undefined;
  /** What the changes last asked for will have placed once committed. */
  private pending: Placed | undefined;
  /** The networks of the last committed changes, and of the pending ones. */
  private knownIds = new Set<string>();
  private pendingIds = new Set<string>();

  constructor(private readonly socket: () => NetlinkSocket) {}

  /** Whether a family's FORWARD chain drops by default, and tsnet's rules in it. */
  private async read(family: number): Promise<{ drops: boolean; ours: RuleInfo[] }> {
    const chains = await orNothing(this.socket().request(nftDump.chains(TABLE, family)));
    const chain = chains.find((c) => c.name === CHAIN && c.base);
    if (!chain) return { drops: false, ours: [] };
    const rules = await orNothing(this.socket().request(nftDump.rules(TABLE, family)));
    return { drops: chain.policy === DROP, ours: rules.filter((r) => r.chain === CHAIN && r.comment?.startsWith('tsnet:')) };
  }

  /**
   * The changes that leave each dropping FORWARD chain with exactly the accepts of these networks' bridges. Call
   * committed() once they are applied, forget() when they were not.
   */
  async changes(networks: readonly Bridged[]): Promise<NetlinkRequest<void>[]> {
    const changes: NetlinkRequest<void>[] = [];
    const next: Placed = new Map();
    for (const f of FAMILIES) {
      const placed = this.known?.get(f.family);
      // Known not to drop: read again only for a new network (dockerd may have turned the chain to drop since, as
      // it does at its start; the periodic check finds a turn with no new network).
      if (this.known && !placed && networks.every((n) => this.knownIds.has(n.id))) continue;
      const drops = placed ? await this.fromKnown(f.family, placed, networks, changes) : await this.fromKernel(f.family, networks, changes);
      if (drops) next.set(f.family, new Set(networks.map((n) => n.id)));
    }
    this.pending = next;
    this.pendingIds = new Set(networks.map((n) => n.id));
    return changes;
  }

  /** Nothing known of a family's chain: it is read, and its tsnet rules made to match. Whether it drops. */
  private async fromKernel(family: number, networks: readonly Bridged[], changes: NetlinkRequest<void>[]): Promise<boolean> {
    const { drops, ours } = await this.read(family);
    const want = new Set(drops ? networks.map((n) => tag(n.id)) : []);
    const count = new Map<string, number>();
    for (const r of ours) count.set(r.comment!, (count.get(r.comment!) ?? 0) + 1);
    // A network gone, or a pair of its rules not whole: those rules go (and a whole pair comes back below).
    const whole = (t: string): boolean => want.has(t) && count.get(t) === 2;
    changes.push(...ours.filter((r) => !whole(r.comment!)).map((r) => nft.delRule(TABLE, CHAIN, r.handle, family)));
    if (drops) for (const n of networks) if (!whole(tag(n.id))) changes.push(...accepts(family, n));
    return drops;
  }

  /** A dropping chain whose accepts are known: the new networks' are added, the gone ones' removed by handle. */
  private async fromKnown(family: number, placed: ReadonlySet<string>, networks: readonly Bridged[], changes: NetlinkRequest<void>[]): Promise<boolean> {
    const want = new Set(networks.map((n) => n.id));
    const gone = new Set([...placed].filter((id) => !want.has(id)).map(tag));
    if (gone.size > 0) {
      const { ours } = await this.read(family);
      changes.push(...ours.filter((r) => gone.has(r.comment!)).map((r) => nft.delRule(TABLE, CHAIN, r.handle, family)));
    }
    for (const n of networks) if (!placed.has(n.id)) changes.push(...accepts(family, n));
    return true;
  }

  committed(): void {
    this.known = this.pending;
    this.knownIds = this.pendingIds;
    this.pending = undefined;
  }

  forget(): void {
    this.known = undefined;
    this.pending = undefined;
  }

  /** The accepts these networks lack in a dropping FORWARD chain, in words (read afresh). */
  async missing(networks: readonly Bridged[]): Promise<string[]> {
    const out: string[] = [];
    for (const f of FAMILIES) {
      const { drops, ours } = await this.read(f.family);
      if (!drops) continue;
      for (const n of networks) {
        if (ours.filter((r) => r.comment === tag(n.id)).length < 2)
          out.push(`rules "-i ${n.bridge} -j ACCEPT", "-o ${n.bridge} -j ACCEPT" in chain ${f.name} filter ${CHAIN}`);
      }
    }
    return out;
  }
}
