/**
 * tsnet's nftables ruleset as data: which chains and elements a network brings, and the smallest transaction
 * between two states (a port is set elements only; a removal takes elements before the chains they jump to).
 */
import { describe, expect, it } from 'vitest';
import { NFT_MSG } from '../../../src/netlink/nftables/constants.js';
import { diffState } from '../../../src/nftables/firewaller.js';
import { DesiredStateBuilder, desiredState } from '../../../src/nftables/ruleset.js';
import { firewallNetwork, publishedPort } from '../../helpers/network-firewall.js';

const net = firewallNetwork;
const port = publishedPort;
const texts = (state: ReturnType<typeof desiredState>, chain: string): string[] => (state.chains.get(chain) ?? []).map((r) => r.text);
const kinds = (changes: { type: number }[]): string[] =>
  changes.map((c) => Object.entries(NFT_MSG).find(([, v]) => (0x0a00 | v) === c.type)?.[0] ?? String(c.type));

describe('nftables ruleset', () => {
  it('gives a network chains of its own: ICC, isolation, replies and published ports in, masquerade out', () => {
    const s = desiredState([net({ icc: false })]);
    expect([...s.chains.keys()]).toEqual(['from-br-a', 'to-br-a', 'out-br-a', 'in-br-a']);
    expect(texts(s, 'from-br-a')).toEqual(['oifname "br-a" counter drop', 'oifname @bridges counter drop', 'accept']);
    expect(texts(s, 'to-br-a')).toEqual([
      'ct state established,related accept',
      'ip daddr . meta l4proto . th dport @published4 accept',
      'ip6 daddr . meta l4proto . th dport @published6 accept',
      'counter drop',
    ]);
    expect(texts(s, 'out-br-a')).toEqual(['ip saddr 10.1.0.0/24 oifname != "br-a" masquerade']);
    expect(texts(s, 'in-br-a')).toEqual(['ct status dnat ip saddr 10.1.0.0/24 masquerade', 'ip saddr 127.0.0.0/8 masquerade']);
    expect([...s.elements.get('fwd_from')!.values()].map((e) => e.label)).toEqual(['"br-a" : jump from-br-a']);
  });

  it('closes an internal network both ways and gives it no NAT; a routed one gets ICMP and no NAT', () => {
    const internal = desiredState([net({ internal: true })]);
    expect([...internal.chains.keys()]).toEqual(['from-br-a', 'to-br-a']);
    expect(texts(internal, 'from-br-a')).toEqual(['oifname "br-a" accept', 'counter drop']);
    expect(texts(internal, 'to-br-a')).toEqual(['counter drop']);
    expect(internal.elements.get('nat_to')!.size).toBe(0);
    const routed = desiredState([net({ routed: true, published: [port] })]);
    expect([...routed.chains.keys()]).toEqual(['from-br-a', 'to-br-a']);
    expect(texts(routed, 'to-br-a')).toContain('meta l4proto icmp accept');
    expect(routed.elements.get('published4')!.size).toBe(1);
    expect(routed.elements.get('dnat4any')!.size).toBe(0);
  });

  it('keys published ports as the kernel holds them: each part of a concatenation padded to 4 bytes', () => {
    const s = desiredState([net({ published: [port, { ...port, hostIp: '127.0.0.1', hostPort: 8081 }] })]);
    const any = [...s.elements.get('dnat4any')!.values()][0]!;
    expect(any.key.toString('hex')).toBe('06000000' + '1f900000');
    expect((any.value as Buffer).toString('hex')).toBe('0a010002' + '00500000');
    const local = [...s.elements.get('dnat4')!.values()][0]!;
    expect(local.key.toString('hex')).toBe('7f000001' + '06000000' + '1f910000');
    expect(local.label).toBe('127.0.0.1 . tcp . 8081 : 10.1.0.2 . 80');
  });

  it('publishes a port with set elements alone, and removes a network elements first, chains last', () => {
    const before = desiredState([net()]);
    const withPort = desiredState([net({ published: [port] })]);
    expect(kinds(diffState(before, withPort))).toEqual(['NEWSETELEM', 'NEWSETELEM']);
    expect(kinds(diffState(withPort, before))).toEqual(['DELSETELEM', 'DELSETELEM']);
    expect(diffState(before, desiredState([net()]))).toEqual([]);
    const removal = kinds(diffState(before, desiredState([])));
    expect(removal.filter((k) => k === 'DELCHAIN')).toHaveLength(4);
    expect(removal.lastIndexOf('DELSETELEM')).toBeLessThan(removal.indexOf('DELCHAIN'));
    const creation = kinds(diffState(desiredState([]), before));
    expect(creation.lastIndexOf('NEWCHAIN')).toBeLessThan(creation.indexOf('NEWSETELEM'));
  });

  it('builds an unchanged network once and keeps it across changes', () => {
    const builder = new DesiredStateBuilder();
    const b = net({ id: 'b'.repeat(64), bridge: 'br-b', subnets: ['10.2.0.0/24'] });
    const first = builder.build([net(), b]);
    const second = builder.build([net({ published: [port] }), b]);
    expect(second.chains.get('from-br-b')).toBe(first.chains.get('from-br-b'));
    expect(second.chains.get('from-br-a')).not.toBe(first.chains.get('from-br-a'));
  });
});
