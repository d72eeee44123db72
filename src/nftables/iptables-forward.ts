/**
 * Living beside iptables' FORWARD chains that drop by default. dockerd, in its default iptables mode, sets the
 * policy of iptables' FORWARD chain to DROP; with iptables-nft that chain is a base chain of its own (`ip filter`,
 * `ip6 filter`), and nf_tables lets every base chain drop a packet that another one accepted. So where such a chain
 * exists, each tsnet bridge gets two rules appended to it, `-i BRIDGE -j ACCEPT` and `-o BRIDGE -j ACCEPT` (with the
 * comment tsnet:ID, as iptables-save shows them), sent in the same transaction as the changes of tsnet's own table:
 * tsnet's table alone then decides what its bridges forward. Nothing else of those chains is read or changed.
 */
import { NFPROTO_IPV4, NFPROTO_IPV6, NFT_META } from '../netlink/nftables/constants.js';
import { ifname, nx } from '../netlink/nftables/expressions.js';
import { nft, nftDump, orNothing, type RuleInfo } from '../netlink/nftables/messages.js';
import type { NetlinkRequest, NetlinkSocket } from '../netlink/socket.js';

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

const accepts = (family: number, net: Bridged): NetlinkRequest<void>[] =>
  (['iifname', 'oifname'] as const).map((dir) =>
    nft.newRule(
      TABLE,
      CHAIN,
      [nx.meta(dir === 'iifname' ? NFT_META.IIFNAME : NFT_META.OIFNAME), nx.eq(ifname(net.bridge)), nx.accept()],
      `tsnet:${net.id}`,
      family,
    ),
  );

export class IptablesForward {
  constructor(private readonly socket: () => NetlinkSocket) {}

  /** tsnet's rules in each family's iptables FORWARD chain, and whether that chain drops by default. */
  private async read(): Promise<{ family: number; name: string; drops: boolean; ours: RuleInfo[] }[]> {
    const out = [];
    for (const f of FAMILIES) {
      const chains = await orNothing(this.socket().request(nftDump.chains(TABLE, f.family)));
      const chain = chains.find((c) => c.name === CHAIN && c.base);
      const rules = chain ? await orNothing(this.socket().request(nftDump.rules(TABLE, f.family))) : [];
      out.push({ ...f, drops: chain?.policy === DROP, ours: rules.filter((r) => r.chain === CHAIN && r.comment?.startsWith('tsnet:')) });
    }
    return out;
  }

  /** The changes that leave each dropping FORWARD chain with exactly the accepts of these networks' bridges. */
  async changes(networks: readonly Bridged[]): Promise<NetlinkRequest<void>[]> {
    const changes: NetlinkRequest<void>[] = [];
    for (const f of await this.read()) {
      const want = new Map(f.drops ? networks.map((n) => [`tsnet:${n.id}`, n]) : []);
      const have = new Map<string, RuleInfo[]>();
      for (const r of f.ours) have.set(r.comment!, [...(have.get(r.comment!) ?? []), r]);
      for (const [tag, rules] of have) {
        // A network gone, or its pair of rules not whole: its rules go (and a whole pair comes back below).
        if (want.has(tag) && rules.length === 2) want.delete(tag);
        else changes.push(...rules.map((r) => nft.delRule(TABLE, CHAIN, r.handle, f.family)));
      }
      for (const net of want.values()) changes.push(...accepts(f.family, net));
    }
    return changes;
  }

  /** The accepts these networks lack in a dropping FORWARD chain, in words. */
  async missing(networks: readonly Bridged[]): Promise<string[]> {
    const out: string[] = [];
    for (const f of await this.read()) {
      if (!f.drops) continue;
      for (const n of networks) {
        if (f.ours.filter((r) => r.comment === `tsnet:${n.id}`).length < 2)
          out.push(`rules "-i ${n.bridge} -j ACCEPT", "-o ${n.bridge} -j ACCEPT" in chain ${f.name} filter ${CHAIN}`);
      }
    }
    return out;
  }
}
