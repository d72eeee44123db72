/**
 * The pieces tsnet's nftables rules are made of, each as nft would print it and as the expressions the kernel
 * runs: interface names, address prefixes, conntrack state, set lookups. A rule is a list of pieces. Pure.
 */
import { isIPv6 } from 'node:net';
import {
  CT_STATE_ESTABLISHED,
  CT_STATE_RELATED,
  IPS_DST_NAT,
  NFPROTO_IPV4,
  NFPROTO_IPV6,
  NFTA_FIB_F_DADDR,
  NFT_CT,
  NFT_FIB_RESULT_ADDRTYPE,
  NFT_META,
  NFT_PAYLOAD,
  NFT_REG32_00,
  NFT_REG_1,
  NFT_REG_VERDICT,
  RTN_LOCAL,
} from '../netlink/nftables/constants.js';
import { hostU32, ifname, nx, type Expr } from '../netlink/nftables/expressions.js';

/** Part of a rule: its words in nft's syntax and its expressions. */
export interface Piece {
  readonly text: string;
  readonly exprs: readonly Expr[];
}

export type Family = 4 | 6;

const piece = (text: string, ...exprs: Expr[]): Piece => ({ text, exprs });

/** The bytes of an address (v4 or v6). */
export function addressBytes(ip: string): Buffer {
  if (!isIPv6(ip)) return Buffer.from(ip.split('.').map(Number));
  const [head = '', tail = ''] = ip.includes('::') ? ip.split('::') : [ip, ''];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16), i * 2));
  return b;
}

const IP = { 4: { proto: NFPROTO_IPV4, saddr: 12, daddr: 16, name: 'ip' }, 6: { proto: NFPROTO_IPV6, saddr: 8, daddr: 24, name: 'ip6' } } as const;

export const match = {
  nfproto: (family: Family): Piece =>
    piece(`meta nfproto ${family === 4 ? 'ipv4' : 'ipv6'}`, nx.meta(NFT_META.NFPROTO), nx.eq(Buffer.from([IP[family].proto]))),
  iifname: (name: string): Piece => piece(`iifname "${name}"`, nx.meta(NFT_META.IIFNAME), nx.eq(ifname(name))),
  oifname: (name: string, not = false): Piece =>
    piece(`oifname ${not ? '!= ' : ''}"${name}"`, nx.meta(NFT_META.OIFNAME), not ? nx.neq(ifname(name)) : nx.eq(ifname(name))),
  /** `ip saddr 10.1.0.0/24`, `ip6 daddr != ::1`: a prefix of the source or destination address (family checked). */
  prefix(dir: 'saddr' | 'daddr', cidr: string, not = false): Piece {
    const [ip = '', len = ''] = cidr.split('/');
    const family: Family = isIPv6(ip) ? 6 : 4;
    const bits = len === '' ? (family === 4 ? 32 : 128) : Number(len);
    const bytes = Math.ceil(bits / 8);
    const value = addressBytes(ip).subarray(0, bytes);
    const exprs = [...match.nfproto(family).exprs, nx.payload(NFT_PAYLOAD.NETWORK_HEADER, IP[family][dir], bytes)];
    if (bits % 8 !== 0) {
      const mask = Buffer.alloc(bytes, 0xff);
      mask[bytes - 1] = (0xff << (8 - (bits % 8))) & 0xff;
      exprs.push(nx.mask(mask));
      for (let i = 0; i < bytes; i++) value[i]! &= mask[i]!;
    }
    exprs.push(not ? nx.neq(value) : nx.eq(value));
    return { text: `${IP[family].name} ${dir} ${not ? '!= ' : ''}${cidr}`, exprs };
  },
  l4proto: (name: string, number: number): Piece => piece(`meta l4proto ${name}`, nx.meta(NFT_META.L4PROTO), nx.eq(Buffer.from([number]))),
  ctEstablished: (): Piece =>
    piece('ct state established,related', nx.ct(NFT_CT.STATE), nx.mask(hostU32(CT_STATE_ESTABLISHED | CT_STATE_RELATED)), nx.neq(hostU32(0))),
  ctDnat: (): Piece => piece('ct status dnat', nx.ct(NFT_CT.STATUS), nx.mask(hostU32(IPS_DST_NAT)), nx.neq(hostU32(0))),
  fibLocal: (): Piece => piece('fib daddr type local', nx.fib(NFTA_FIB_F_DADDR, NFT_FIB_RESULT_ADDRTYPE), nx.eq(hostU32(RTN_LOCAL))),
  /** `iifname vmap @set`: a verdict map keyed by the interface a packet came in or goes out by. */
  ifVmap: (dir: 'iifname' | 'oifname', set: string): Piece =>
    piece(`${dir} vmap @${set}`, nx.meta(dir === 'iifname' ? NFT_META.IIFNAME : NFT_META.OIFNAME), nx.lookup(set, NFT_REG_VERDICT)),
  oifnameIn: (set: string): Piece => piece(`oifname @${set}`, nx.meta(NFT_META.OIFNAME), nx.lookup(set)),
  /** `ip daddr . meta l4proto . th dport @set`: a container's address, protocol and port in a set (or map). */
  servicesIn(family: Family, set: string, dnatMap = false): Piece {
    const f = IP[family];
    const proto = NFT_REG32_00 + (family === 4 ? 1 : 4);
    const exprs = [
      ...match.nfproto(family).exprs,
      nx.payload(NFT_PAYLOAD.NETWORK_HEADER, f.daddr, family === 4 ? 4 : 16),
      nx.meta(NFT_META.L4PROTO, proto),
      nx.payload(NFT_PAYLOAD.TRANSPORT_HEADER, 2, 2, proto + 1),
      nx.lookup(set, dnatMap ? NFT_REG_1 : undefined),
    ];
    return { text: `${f.name} daddr . meta l4proto . th dport${dnatMap ? ' map' : ''} @${set}`, exprs };
  },
  /** `meta l4proto . th dport map @set` (the family is the rule's nat family). */
  portsMap: (family: Family, set: string): Piece =>
    piece(
      'meta l4proto . th dport map @' + set,
      ...match.nfproto(family).exprs,
      nx.meta(NFT_META.L4PROTO, NFT_REG_1),
      nx.payload(NFT_PAYLOAD.TRANSPORT_HEADER, 2, 2, NFT_REG32_00 + 1),
      nx.lookup(set, NFT_REG_1),
    ),
};

/** Where a dnat map's value leaves the port: after the address, in the next 32-bit register. */
export const dnatProtoRegister = (family: Family): number => NFT_REG32_00 + (family === 4 ? 1 : 4);

export const verdicts = {
  accept: (): Piece => piece('accept', nx.accept()),
  /** Drops count what they drop, as iptables' rules do: `nft list` shows it, and tests read it. */
  drop: (): Piece => piece('counter drop', nx.counter(), nx.drop()),
  jump: (chain: string): Piece => piece(`jump ${chain}`, nx.jump(chain)),
  masquerade: (): Piece => piece('masquerade', nx.masquerade()),
  dnat: (family: Family, from: Piece): Piece => ({
    text: `dnat ${family === 4 ? 'ip' : 'ip6'} to ${from.text}`,
    exprs: [...from.exprs, nx.dnat(family === 4 ? NFPROTO_IPV4 : NFPROTO_IPV6, NFT_REG_1, dnatProtoRegister(family))],
  }),
};
