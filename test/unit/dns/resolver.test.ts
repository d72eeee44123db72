/** The embedded resolver's logic without sockets to the outside: its own answers, scopes, failures and truncation. */
import dnsPacket, { type Packet } from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { ownAnswer, reverseAddress } from '../../../src/dns/answer.js';
import { addName, type ClientScope, type NameAddresses } from '../../../src/dns/directory.js';
import { DnsServer } from '../../../src/dns/server.js';

const quiet = { warn: () => undefined, debug: () => undefined };

function scope(entries: Record<string, [string[], string[]]>, upstreams: string[] = []): ClientScope {
  const names = new Map<string, NameAddresses>();
  const reverse = new Map<string, string>();
  for (const [name, [v4, v6]] of Object.entries(entries)) {
    addName(names, name, v4, v6);
    for (const a of [...v4, ...v6]) reverse.set(a, name);
  }
  return { names, reverse, upstreams };
}

const query = (name: string, type: string): Packet => ({
  id: 42,
  type: 'query',
  flags: dnsPacket.RECURSION_DESIRED,
  questions: [{ name, type: type as 'A', class: 'IN' }],
});

describe('the embedded resolver', () => {
  const s = scope({ web: [['10.1.0.2'], ['fd00::2']], Db: [['10.1.0.3'], []] });

  it('answers A, AAAA and PTR for names in scope, case-insensitively, and NODATA for a type it holds none of', () => {
    expect(ownAnswer(query('WEB.', 'A'), s)?.answers).toEqual([{ type: 'A', name: 'WEB.', ttl: 600, data: '10.1.0.2' }]);
    expect(ownAnswer(query('web', 'AAAA'), s)?.answers).toEqual([{ type: 'AAAA', name: 'web', ttl: 600, data: 'fd00::2' }]);
    expect(ownAnswer(query('db', 'AAAA'), s)?.answers).toEqual([]);
    expect(ownAnswer(query('db', 'MX'), s)?.answers).toEqual([]);
    expect(ownAnswer(query('3.0.1.10.in-addr.arpa', 'PTR'), s)?.answers?.[0]).toMatchObject({ data: 'Db' });
    const v6 = `2.0.0.0.${'0.'.repeat(24)}0.0.d.f.ip6.arpa`;
    expect(reverseAddress(v6)).toBe('fd00::2');
    expect(ownAnswer(query(v6, 'PTR'), s)?.answers?.[0]).toMatchObject({ data: 'web' });
  });

  it('owns nothing else: other names and other reverse lookups are forwarded, never invented', () => {
    expect(ownAnswer(query('web2', 'A'), s)).toBeUndefined();
    expect(ownAnswer(query('we', 'A'), s)).toBeUndefined();
    expect(ownAnswer(query('9.0.1.10.in-addr.arpa', 'PTR'), s)).toBeUndefined();
  });

  it('refuses clients of no network it serves, refuses to forward without upstreams, and truncates large UDP answers', async () => {
    const many = scope({ big: [Array.from({ length: 60 }, (_, i) => `10.2.0.${i + 2}`), []] });
    const server = new DnsServer({ scopeOf: (_client, local) => (local === '10.2.0.1' ? many : undefined) }, quiet);
    type Decoded = ReturnType<typeof dnsPacket.decode> & { rcode: string };
    const ask = async (q: Packet, local: string, transport: 'udp' | 'tcp' = 'udp'): Promise<Decoded> =>
      dnsPacket.decode((await server.resolve(dnsPacket.encode(q), '10.2.0.9', local, transport))!) as Decoded;
    expect((await ask(query('big', 'A'), '10.9.0.1')).rcode).toBe('REFUSED');
    expect((await ask(query('example.com', 'A'), '10.2.0.1')).rcode).toBe('REFUSED');
    const udp = await ask(query('big', 'A'), '10.2.0.1');
    expect({ tc: udp.flag_tc, answers: udp.answers?.length, id: udp.id }).toEqual({ tc: true, answers: 0, id: 42 });
    expect((await ask(query('big', 'A'), '10.2.0.1', 'tcp')).answers).toHaveLength(60);
    const garbage = dnsPacket.decode((await server.resolve(Buffer.from([0, 7, 1]), '10.2.0.9', '10.2.0.1', 'udp'))!) as Decoded;
    expect({ id: garbage.id, rcode: garbage.rcode }).toEqual({ id: 7, rcode: 'FORMERR' });
  });

  it('answers a repeated question from memory with its own id, and forgets when the scope changes', async () => {
    let current = scope({ web: [['10.1.0.2'], []] });
    const server = new DnsServer({ scopeOf: () => current }, quiet);
    const ask = async (id: number): Promise<ReturnType<typeof dnsPacket.decode>> =>
      dnsPacket.decode((await server.resolve(dnsPacket.encode({ ...query('web', 'A'), id }), '10.1.0.9', '10.1.0.1', 'udp'))!);
    expect((await ask(1)).answers?.[0]).toMatchObject({ data: '10.1.0.2' });
    const again = await ask(2);
    expect({ id: again.id, data: (again.answers?.[0] as { data: string }).data }).toEqual({ id: 2, data: '10.1.0.2' });
    current = scope({ web: [['10.1.0.7'], []] });
    expect((await ask(3)).answers?.[0]).toMatchObject({ data: '10.1.0.7' });
  });
});
