/**
 * tsnet's firewall as nf_tables objects: one table, `inet tsnet`, whose base chains never change and dispatch
 * through verdict maps keyed by bridge name to each network's own chains; published ports are elements of sets and
 * maps. So a network's creation or removal adds or removes its chains and elements, and publishing a port adds set
 * elements only. Pure: no I/O.
 *
 *   forward (filter):     jump user; iifname vmap @fwd_from; oifname vmap @fwd_to
 *     from-BRIDGE:        oifname "BRIDGE" accept|drop (ICC); [internal: drop] oifname @bridges drop; accept
 *     to-BRIDGE:          [internal: drop] ct state established,related accept; published ports accept;
 *                         [routed: ICMP accept]; drop
 *   prerouting, output (nat, dstnat): to a local address (not loopback from outside) -> ports: dnat by maps
 *   postrouting (nat):    iifname vmap @nat_from (outbound masquerade); oifname vmap @nat_to (hairpin, loopback)
 */
import type { NetworkFirewall, PublishedPort } from '../iptables/rules.js';
import { NFT_DATA_VERDICT, NFT_SET_MAP, NF_INET, VERDICT } from '../netlink/nftables/constants.js';
import type { BaseChainSpec, SetElement, SetSpec } from '../netlink/nftables/messages.js';
import { ifname } from '../netlink/nftables/expressions.js';
import { addressBytes, match, verdicts, type Family, type Piece } from './matches.js';
import { isIPv6 } from 'node:net';

export const TABLE = 'tsnet';
/** The user's chain: jumped to first from forward, created once, never flushed. */
export const USER_CHAIN = 'user';

export interface NftRule {
  /** What the rule is, as nft prints it (without its comment). */
  readonly text: string;
  /** The rule's comment in the kernel: `tsnet`, or `tsnet:ID` for a network's. */
  readonly comment: string;
  readonly exprs: readonly Piece['exprs'][number][];
}

/** Everything of tsnet's table that depends on the networks: their chains, and every set's elements by key. */
export interface NftState {
  readonly chains: ReadonlyMap<string, readonly NftRule[]>;
  readonly elements: ReadonlyMap<string, ReadonlyMap<string, SetElement>>;
}

const ud = (hex: string): Buffer => Buffer.from(hex, 'hex');
// What nft itself writes as each kind of set's userdata, so that `nft list` prints the elements as it would its own.
const UD_IFNAME = ud('000401000000');
const UD_VMAP = ud('000401000000010400000000060400000000');
const UD_SERVICES = ud('000400000000030800040d0000000100');
const UD_DNAT = ud('000400000000010400000000030800040d0000000100040800040d0000000100060400000000');
const T = { ifname: 41, ip4: 7, ip6: 8, proto: 12, service: 13 } as const;
const concat = (...types: number[]): number => types.reduce((acc, t) => (acc << 6) | t, 0);

export const SETS: readonly SetSpec[] = [
  ...['fwd_from', 'fwd_to', 'nat_from', 'nat_to'].map((name) => ({
    name,
    flags: NFT_SET_MAP,
    keyType: T.ifname,
    keyLen: 16,
    dataType: NFT_DATA_VERDICT,
    dataLen: 0,
    userdata: UD_VMAP,
  })),
  { name: 'bridges', flags: 0, keyType: T.ifname, keyLen: 16, userdata: UD_IFNAME },
  { name: 'published4', flags: 0, keyType: concat(T.ip4, T.proto, T.service), keyLen: 12, userdata: UD_SERVICES },
  { name: 'published6', flags: 0, keyType: concat(T.ip6, T.proto, T.service), keyLen: 24, userdata: UD_SERVICES },
  {
    name: 'dnat4',
    flags: NFT_SET_MAP,
    keyType: concat(T.ip4, T.proto, T.service),
    keyLen: 12,
    dataType: concat(T.ip4, T.service),
    dataLen: 8,
    userdata: UD_DNAT,
  },
  { name: 'dnat4any', flags: NFT_SET_MAP, keyType: concat(T.proto, T.service), keyLen: 8, dataType: concat(T.ip4, T.service), dataLen: 8, userdata: UD_DNAT },
  {
    name: 'dnat6',
    flags: NFT_SET_MAP,
    keyType: concat(T.ip6, T.proto, T.service),
    keyLen: 24,
    dataType: concat(T.ip6, T.service),
    dataLen: 20,
    userdata: UD_DNAT,
  },
  { name: 'dnat6any', flags: NFT_SET_MAP, keyType: concat(T.proto, T.service), keyLen: 8, dataType: concat(T.ip6, T.service), dataLen: 20, userdata: UD_DNAT },
];

const rule = (tag: string, ...pieces: Piece[]): NftRule => ({
  text: pieces.map((p) => p.text).join(' '),
  comment: tag,
  exprs: pieces.flatMap((p) => p.exprs),
});

const ACCEPT = 1;
const DNAT_PRIORITY = -100;

/** The base chains: hooked into the kernel, the same whatever the networks. */
export const BASE_CHAINS: readonly { name: string; spec: BaseChainSpec; rules: readonly NftRule[] }[] = [
  {
    name: 'forward',
    spec: { type: 'filter', hook: NF_INET.FORWARD, priority: 0, policy: ACCEPT },
    rules: [rule('tsnet', verdicts.jump(USER_CHAIN)), rule('tsnet', match.ifVmap('iifname', 'fwd_from')), rule('tsnet', match.ifVmap('oifname', 'fwd_to'))],
  },
  {
    name: 'prerouting',
    spec: { type: 'nat', hook: NF_INET.PRE_ROUTING, priority: DNAT_PRIORITY, policy: ACCEPT },
    rules: [
      rule('tsnet', match.prefix('daddr', '127.0.0.0/8', true), match.fibLocal(), verdicts.jump('ports')),
      rule('tsnet', match.prefix('daddr', '::1', true), match.fibLocal(), verdicts.jump('ports')),
    ],
  },
  {
    name: 'output',
    spec: { type: 'nat', hook: NF_INET.LOCAL_OUT, priority: DNAT_PRIORITY, policy: ACCEPT },
    rules: [
      rule('tsnet', match.nfproto(4), match.fibLocal(), verdicts.jump('ports')),
      rule('tsnet', match.prefix('daddr', '::1', true), match.fibLocal(), verdicts.jump('ports')),
    ],
  },
  {
    name: 'postrouting',
    spec: { type: 'nat', hook: NF_INET.POST_ROUTING, priority: 100, policy: ACCEPT },
    rules: [rule('tsnet', match.ifVmap('iifname', 'nat_from')), rule('tsnet', match.ifVmap('oifname', 'nat_to'))],
  },
];

/** The chain of published ports' DNAT, reached from prerouting and output: the same whatever the networks. */
export const PORTS_CHAIN = {
  name: 'ports',
  rules: [
    rule('tsnet', verdicts.dnat(4, match.servicesIn(4, 'dnat4', true))),
    rule('tsnet', verdicts.dnat(4, match.portsMap(4, 'dnat4any'))),
    rule('tsnet', verdicts.dnat(6, match.servicesIn(6, 'dnat6', true))),
    rule('tsnet', verdicts.dnat(6, match.portsMap(6, 'dnat6any'))),
  ],
} as const;

export const chainNames = (bridge: string): { from: string; to: string; out: string; in: string } => ({
  from: `from-${bridge}`,
  to: `to-${bridge}`,
  out: `out-${bridge}`,
  in: `in-${bridge}`,
});

/** The chains of one network: what enters the forward path from its bridge and into it, and its NAT. */
function networkChains(net: NetworkFirewall): Map<string, NftRule[]> {
  const tag = `tsnet:${net.id}`;
  const names = chainNames(net.bridge);
  const br = net.bridge;
  const from = [rule(tag, match.oifname(br), net.icc ? verdicts.accept() : verdicts.drop())];
  if (net.internal) from.push(rule(tag, verdicts.drop()));
  else from.push(rule(tag, match.oifnameIn('bridges'), verdicts.drop()), rule(tag, verdicts.accept()));
  const to = net.internal
    ? [rule(tag, verdicts.drop())]
    : [
        rule(tag, match.ctEstablished(), verdicts.accept()),
        rule(tag, match.servicesIn(4, 'published4'), verdicts.accept()),
        rule(tag, match.servicesIn(6, 'published6'), verdicts.accept()),
        ...(net.routed ? [rule(tag, match.l4proto('icmp', 1), verdicts.accept()), rule(tag, match.l4proto('ipv6-icmp', 58), verdicts.accept())] : []),
        rule(tag, verdicts.drop()),
      ];
  const chains = new Map<string, NftRule[]>([
    [names.from, from],
    [names.to, to],
  ]);
  if (net.internal || net.routed) return chains;
  if (net.masquerade && net.subnets.length > 0)
    chains.set(
      names.out,
      net.subnets.map((s) => rule(tag, match.prefix('saddr', s), match.oifname(br, true), verdicts.masquerade())),
    );
  chains.set(names.in, [
    ...[...net.subnets, ...net.subnets6].map((s) => rule(tag, match.ctDnat(), match.prefix('saddr', s), verdicts.masquerade())),
    rule(tag, match.prefix('saddr', '127.0.0.0/8'), verdicts.masquerade()),
  ]);
  return chains;
}

const familyOf = (ip: string): Family => (isIPv6(ip) ? 6 : 4);
const any = (ip: string): boolean => ip === '0.0.0.0' || ip === '::';
const PROTOCOLS = { tcp: 6, udp: 17, sctp: 132 } as const;

/** A concatenation's bytes: each part padded to 4 bytes, as registers hold them. */
function concatKey(...parts: Buffer[]): Buffer {
  return Buffer.concat(parts.map((p) => Buffer.concat([p, Buffer.alloc((4 - (p.length % 4)) % 4)])));
}
const proto = (p: PublishedPort): Buffer => Buffer.from([PROTOCOLS[p.protocol]]);
const port = (n: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
};

/** The elements a network adds to the sets and maps, by set. */
function networkElements(net: NetworkFirewall, add: (set: string, e: SetElement) => void): void {
  const names = chainNames(net.bridge);
  const br = ifname(net.bridge);
  const jump = (chain: string): { code: number; chain: string } => ({ code: VERDICT.JUMP, chain });
  const to = (chain: string): SetElement => ({ key: br, value: jump(chain), label: `"${net.bridge}" : jump ${chain}` });
  add('bridges', { key: br, label: `"${net.bridge}"` });
  add('fwd_from', to(names.from));
  add('fwd_to', to(names.to));
  if (net.internal) return;
  if (!net.routed && net.masquerade && net.subnets.length > 0) add('nat_from', to(names.out));
  if (!net.routed) add('nat_to', to(names.in));
  for (const p of net.published) {
    const family = familyOf(p.hostIp);
    if (familyOf(p.address) !== family) continue;
    const value = concatKey(addressBytes(p.address), port(p.containerPort));
    const service = `${p.protocol} . ${p.containerPort}`;
    add(`published${family}`, { key: concatKey(addressBytes(p.address), proto(p), port(p.containerPort)), label: `${p.address} . ${service}` });
    if (net.routed) continue;
    const label = `${p.protocol} . ${p.hostPort} : ${p.address} . ${p.containerPort}`;
    if (any(p.hostIp)) add(`dnat${family}any`, { key: concatKey(proto(p), port(p.hostPort)), value, label });
    else add(`dnat${family}`, { key: concatKey(addressBytes(p.hostIp), proto(p), port(p.hostPort)), value, label: `${p.hostIp} . ${label}` });
  }
}

/** One network's share of the state: its chains, and its elements by set. */
interface NetworkPart {
  readonly chains: Map<string, NftRule[]>;
  readonly elements: [string, SetElement][];
}

function networkPart(net: NetworkFirewall): NetworkPart {
  const elements: [string, SetElement][] = [];
  networkElements(net, (set, e) => elements.push([set, e]));
  return { chains: networkChains(net), elements };
}

/** The state these networks need. */
export function desiredState(networks: readonly NetworkFirewall[], partOf: (net: NetworkFirewall) => NetworkPart = networkPart): NftState {
  const chains = new Map<string, readonly NftRule[]>();
  const elements = new Map<string, Map<string, SetElement>>(SETS.map((s) => [s.name, new Map()]));
  for (const net of networks) {
    const part = partOf(net);
    for (const [name, rules] of part.chains) chains.set(name, rules);
    for (const [set, e] of part.elements) elements.get(set)!.set(e.key.toString('hex'), e);
  }
  return { chains, elements };
}

/**
 * desiredState with each network's part kept from the last call while the network is unchanged: building a
 * network's rules costs about 0.25 ms, which every change would otherwise pay for every network.
 */
export class DesiredStateBuilder {
  private parts = new Map<string, NetworkPart>();

  build(networks: readonly NetworkFirewall[]): NftState {
    const next = new Map<string, NetworkPart>();
    const state = desiredState(networks, (net) => {
      const key = JSON.stringify(net);
      const part = this.parts.get(key) ?? networkPart(net);
      next.set(key, part);
      return part;
    });
    this.parts = next;
    return state;
  }
}
