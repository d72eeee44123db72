import { describe, expect, it } from 'vitest';
import { JUMPS, jumpKey, networkRules, parseBase, renderRuleset } from '../../../src/iptables/rules.js';

const web = { id: 'aaa', bridge: 'br-web', subnets: ['10.1.0.0/24'], internal: false, icc: true, masquerade: true };
const db = { id: 'bbb', bridge: 'br-db', subnets: ['10.2.0.0/24'], internal: true, icc: false, masquerade: true };
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
        '-I POSTROUTING 1 -m comment --comment tsnet -j TSNET-POSTROUTING',
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

  it('gives IPv6 the filter rules only: no NAT table at all', () => {
    const text = renderRuleset([web], fresh, 6);
    expect(text).not.toContain('*nat');
    expect(text).not.toContain('MASQUERADE');
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
