/**
 * The two firewall backends as tests see them: how to read each one's rules, how someone else would flush them,
 * and how a rule of tsnet's looks in each. Kernel tests of firewall behaviour run once per backend.
 */
import type { FirewallBackend } from '../../src/daemon/network-wiring.js';
import type { Lab } from './lab.js';

export interface BackendView {
  readonly backend: FirewallBackend;
  /** tsnet's rules in the lab's host, as text, without counters. */
  rules(l: Lab): Promise<string>;
  /** Someone flushes the chain that leads forwarded traffic to tsnet's per-network rules. */
  flushForward(l: Lab): Promise<void>;
  /** Someone flushes tsnet's outbound NAT. */
  flushMasquerade(l: Lab): Promise<void>;
  /** Someone flushes tsnet's published ports' DNAT. */
  flushPorts(l: Lab): Promise<void>;
  /** Someone flushes the whole firewall (what a firewalld reload does). */
  flushEverything(l: Lab): Promise<void>;
  /** How the masquerade of a network's subnet reads in rules(). */
  masquerade(subnet: string, bridge: string, id: string): string;
  /** How a published port's DNAT target reads in rules(), and in what doctor reports. */
  dnatTo(address: string, port: number): string;
  /** What doctor reports after flushPorts() for a port published to address:port. */
  flushedPorts(address: string, port: number): string;
  /** The rule that drops traffic between two containers of an ICC-off network, in rules() (IPv6 included). */
  readonly iccDrop: RegExp;
  /** What doctor reports, among others, when flushEverything() ran with network id on bridge of subnet. */
  flushedReport(subnet: string, bridge: string, id: string): string;
}

const noCounters = (text: string): string =>
  text
    .replace(/^#.*$/gmu, '')
    .replace(/\[\d+:\d+\]/gu, '')
    .replace(/counter packets \d+ bytes \d+ /gu, 'counter ');

export const BACKENDS: readonly BackendView[] = [
  {
    backend: 'nftables',
    rules: async (l) => noCounters(await l.nftTable()),
    flushForward: async (l) => void (await l.exec(l.host, 'nft', ['flush', 'chain', 'inet', 'tsnet', 'forward'])),
    flushMasquerade: async (l) => void (await l.exec(l.host, 'nft', ['flush', 'map', 'inet', 'tsnet', 'nat_from'])),
    flushPorts: async (l) => void (await l.exec(l.host, 'nft', ['flush', 'map', 'inet', 'tsnet', 'dnat4any'])),
    flushEverything: async (l) => void (await l.exec(l.host, 'nft', ['flush', 'ruleset'])),
    masquerade: (subnet, bridge, id) => `ip saddr ${subnet} oifname != "${bridge}" masquerade comment "tsnet:${id}"`,
    dnatTo: (address, port) => `${address} . ${port}`,
    flushedPorts: (address, port) => `: ${address} . ${port} of set dnat4any`,
    iccDrop: /chain from-(\S+) \{\n\s+oifname "\1" counter drop comment "tsnet:[0-9a-f]{64}"/u,
    flushedReport: () => 'bridge driver: nftables: table inet tsnet',
  },
  {
    backend: 'iptables',
    rules: async (l) => noCounters((await l.exec(l.host, 'iptables-save', [])).stdout + (await l.exec(l.host, 'ip6tables-save', [])).stdout),
    flushForward: async (l) => void (await l.exec(l.host, 'iptables', ['-F', 'TSNET-FORWARD'])),
    flushMasquerade: async (l) => void (await l.exec(l.host, 'iptables', ['-t', 'nat', '-F', 'TSNET-POSTROUTING'])),
    flushPorts: async (l) => void (await l.exec(l.host, 'iptables', ['-t', 'nat', '-F', 'TSNET'])),
    async flushEverything(l) {
      await l.exec(l.host, 'iptables', ['-F']);
      await l.exec(l.host, 'iptables', ['-t', 'nat', '-F']);
      await l.exec(l.host, 'ip6tables', ['-F']);
      await l.exec(l.host, 'ip6tables', ['-t', 'nat', '-F']);
    },
    masquerade: (subnet, bridge, id) => `-A TSNET-POSTROUTING -s ${subnet} ! -o ${bridge} -m comment --comment "tsnet:${id}" -j MASQUERADE`,
    dnatTo: (address, port) => `--to-destination ${address}:${port}`,
    flushedPorts: (address, port) => `-j DNAT --to-destination ${address}:${port}`,
    iccDrop: /-A TSNET-FORWARD -i (\S+) -o \1 -m comment --comment "tsnet:[0-9a-f]{64}" -j DROP/u,
    flushedReport: (subnet, bridge, id) =>
      `bridge driver: iptables: -A TSNET-POSTROUTING -s ${subnet} ! -o ${bridge} -m comment --comment tsnet:${id} -j MASQUERADE`,
  },
];
