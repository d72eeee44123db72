import { describe, expect, it } from 'vitest';
import { JUMPS, jumpKey, missingRules, networkRules, parseBase, renderRuleset, type PublishedPort } from '../../../src/iptables/rules.js';

const plain = { subnets6: [] as string[], routed: false, published: [] as PublishedPort[] };
const web = { ...plain, id: 'aaa', bridge: 'br-web', subnets: ['10.1.0.0/24'], internal: false, icc: true, masquerade: true };
const db = { ...plain, id: 'bbb', bridge: 'br-db', subnets: ['10.2.0.0/24'], internal: true, icc: false, masquerade: true };
const c = '-m comment --comment tsnet:aaa';
const fresh = { userChainExists: false, jumps: new Set<string>() };
const allJumps = { userChainExists: true, jumps: new Set(JUMPS.map((j) => jumpKey(j.chain, j.target))) };

describe('firewall rules', () => {
  it('gives a network isolation, forwarding and masquerade rules, each tagged with its id', () => {
    expect(networkRules(web)).toEqual({
      filter: [
        '-A TSNET-ISOLATION-STAGE-1 -i br-web ! -o br-web -m comment --comment tsnet:aaa -j TSNET-ISOLATION-STAGE-2',
        '-A TSNET-ISOLATION-STAGE-2 -o br-web -m comment --comment tsnet:aaa -j DROP',
        '-A TSNET-FORWARD -o br-web -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment tsnet:aaa -j ACCEPT',
        '-A TSNET-FORWARD -i br-web ! -o br-web -m comment --comment tsnet:aaa -j ACCEPT',
        '-A TSNET-FORWARD -i br-web -o br-web -m comment --comment tsnet:aaa -j ACCEPT',
        // As Docker 28: unpublished ports are not reached from outside by routing to the container's address.
        '-A TSNET-FORWARD ! -i br-web -o br-web -m comment --comment tsnet:aaa -j DROP',
      ],
      nat: ['-A TSNET-POSTROUTING -s 10.1.0.0/24 ! -o br-web -m comment --comment tsnet:aaa -j MASQUERADE'],
    });
  });

  it('closes internal networks both ways, without NAT, and drops inter-container traffic when ICC is off', () => {
    const rules = networkRules(db);
    expect(rules.nat).toEqual([]);
    expect(rules.filter).toContain('-A TSNET-FORWARD -i br-db ! -o br-db -m comment --comment tsnet:bbb -j DROP');
    expect(rules.filter).toContain('-A TSNET-FORWARD -o br-db ! -i br-db -m comment --comment tsnet:bbb -j DROP');
    expect(rules.filter).toContain('-A TSNET-FORWARD -i br-db -o br-db -m comment --comment tsnet:bbb -j DROP');
    expect(networkRules({ ...web, masquerade: false }).nat).toEqual([]);
  });

  it('renders one batch that creates the chains and jumps on a fresh host', () => {
    expect(renderRuleset([web], fresh)).toBe(
      [
        '*filter',
        ':TSNET-USER - [0:0]',
        ':TSNET-ISOLATION-STAGE-1 - [0:0]',
        ':TSNET-ISOLATION-STAGE-2 - [0:0]',
        ':TSNET-FORWARD - [0:0]',
        '-I FORWARD 1 -m comment --comment tsnet -j TSNET-FORWARD',
        '-I FORWARD 1 -m comment --comment tsnet -j TSNET-ISOLATION-STAGE-1',
        '-I FORWARD 1 -m comment --comment tsnet -j TSNET-USER',
        ...networkRules(web).filter,
        'COMMIT',
        '*nat',
        ':TSNET-POSTROUTING - [0:0]',
        ':TSNET - [0:0]',
        '-I POSTROUTING 1 -m comment --comment tsnet -j TSNET-POSTROUTING',
        '-I PREROUTING 1 ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -m comment --comment tsnet -j TSNET',
        '-I OUTPUT 1 -m addrtype --dst-type LOCAL -m comment --comment tsnet -j TSNET',
        ...networkRules(web).nat,
        'COMMIT',
        '',
      ].join('\n'),
    );
  });

  it('never flushes TSNET-USER once it exists, and adds no jump twice', () => {
    const text = renderRuleset([web, db], allJumps);
    expect(text).not.toContain(':TSNET-USER');
    expect(text).not.toMatch(/-I (FORWARD|POSTROUTING)/u);
    // A network's removal is the same batch without its rules: the chains are rewritten whole.
    expect(renderRuleset([db], allJumps)).not.toContain('tsnet:aaa');
  });

  it('gives IPv6 no outbound masquerade: its NAT is only the DNAT of published ports', () => {
    const text = renderRuleset([web], fresh, 6);
    expect(text).not.toContain('MASQUERADE');
    expect(text).toContain('-I PREROUTING 1 ! -d ::1/128 -m addrtype --dst-type LOCAL -m comment --comment tsnet -j TSNET');
    expect(text).toContain('-A TSNET-FORWARD -i br-web -o br-web -m comment --comment tsnet:aaa -j ACCEPT');
    expect(text.match(/-I FORWARD 1/gu)).toHaveLength(3);
  });

  it('re-establishes the jump order when one jump went missing', () => {
    const base = parseBase(
      [
        '*filter',
        ':TSNET-USER - [0:0]',
        '-A FORWARD -m comment --comment tsnet -j TSNET-USER',
        '-A FORWARD -m comment --comment tsnet -j TSNET-FORWARD',
        '-A POSTROUTING -m comment --comment tsnet -j TSNET-POSTROUTING',
      ].join('\n'),
    );
    expect(base.userChainExists).toBe(true);
    const lines = renderRuleset([], base).split('\n');
    expect(lines.filter((l) => l.startsWith('-D FORWARD'))).toEqual([
      '-D FORWARD -m comment --comment tsnet -j TSNET-USER',
      '-D FORWARD -m comment --comment tsnet -j TSNET-FORWARD',
    ]);
    expect(lines.filter((l) => l.startsWith('-I FORWARD'))).toHaveLength(3);
    expect(lines.some((l) => l.startsWith('-I POSTROUTING') || l.startsWith('-D POSTROUTING'))).toBe(false);
  });
});

describe('the rules of published ports', () => {
  const port = (hostIp: string, address: string, protocol: PublishedPort['protocol'] = 'tcp'): PublishedPort => ({
    protocol,
    hostIp,
    hostPort: 8080,
    address,
    containerPort: 80,
  });
  const dual = { ...web, subnets6: ['fd00:1::/64'], published: [port('0.0.0.0', '10.1.0.2'), port('::', 'fd00:1::2'), port('127.0.0.1', '10.1.0.3', 'udp')] };

  it('DNATs each host port in TSNET, accepts the container port, and masquerades hairpin and loopback clients only', () => {
    const v4 = networkRules(dual, 4);
    expect(v4.nat).toEqual([
      `-A TSNET -p tcp -m tcp --dport 8080 ${c} -j DNAT --to-destination 10.1.0.2:80`,
      `-A TSNET -d 127.0.0.1/32 -p udp -m udp --dport 8080 ${c} -j DNAT --to-destination 10.1.0.3:80`,
      `-A TSNET-POSTROUTING -s 10.1.0.0/24 -o br-web -m conntrack --ctstate DNAT ${c} -j MASQUERADE`,
      `-A TSNET-POSTROUTING -s 127.0.0.0/8 -o br-web ${c} -j MASQUERADE`,
      `-A TSNET-POSTROUTING -s 10.1.0.0/24 ! -o br-web ${c} -j MASQUERADE`,
    ]);
    expect(v4.filter).toContain(`-A TSNET-FORWARD -d 10.1.0.2/32 ! -i br-web -o br-web -p tcp -m tcp --dport 80 ${c} -j ACCEPT`);
    // The accepts stand before the drop of everything else that comes from outside.
    const accept = v4.filter.findIndex((r) => r.includes('--dport 80'));
    expect(accept).toBeLessThan(v4.filter.indexOf(`-A TSNET-FORWARD ! -i br-web -o br-web ${c} -j DROP`));
  });

  it('publishes on IPv6 to the IPv6 address, with no loopback rule', () => {
    const v6 = networkRules(dual, 6);
    expect(v6.nat).toEqual([
      `-A TSNET -p tcp -m tcp --dport 8080 ${c} -j DNAT --to-destination [fd00:1::2]:80`,
      `-A TSNET-POSTROUTING -s fd00:1::/64 -o br-web -m conntrack --ctstate DNAT ${c} -j MASQUERADE`,
    ]);
  });

  it('in routed mode makes no NAT at all and opens the container ports and ICMP to direct traffic', () => {
    const routed = networkRules({ ...dual, routed: true }, 4);
    expect(routed.nat).toEqual([]);
    expect(routed.filter).toContain(`-A TSNET-FORWARD ! -i br-web -o br-web -p icmp ${c} -j ACCEPT`);
    expect(routed.filter).toContain(`-A TSNET-FORWARD -d 10.1.0.2/32 ! -i br-web -o br-web -p tcp -m tcp --dport 80 ${c} -j ACCEPT`);
  });

  it('finds a flushed DNAT rule missing, as iptables-save prints them', () => {
    const rules = networkRules(dual, 4);
    const save = ['*nat', ...rules.nat.slice(1), ...JUMPS.map((j) => `-A ${j.chain} -j ${j.target}`), '*filter', ...rules.filter].join('\n');
    expect(missingRules([dual], save, 4)).toEqual([rules.nat[0]]);
  });
});
