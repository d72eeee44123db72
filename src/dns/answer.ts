/**
 * The embedded resolver's own answers (pure): A, AAAA and PTR for the names in a client's scope, NODATA for a
 * name it owns without an address of the asked type, and undefined for everything it does not own (forwarded; never
 * an invented address).
 */
import type { Answer, Packet, Question } from 'dns-packet';
import ipaddr from 'ipaddr.js';
import type { ClientScope } from './directory.js';

/** Docker's TTL for container names: short, as containers come and go. */
export const TTL = 600;

/** The address a reverse name stands for ("2.0.17.172.in-addr.arpa" -> "172.17.0.2"), or undefined. */
export function reverseAddress(name: string): string | undefined {
  const n = name.toLowerCase().replace(/\.$/u, '');
  if (n.endsWith('.in-addr.arpa')) {
    const parts = n.slice(0, -'.in-addr.arpa'.length).split('.');
    return parts.length === 4 ? parts.reverse().join('.') : undefined;
  }
  if (n.endsWith('.ip6.arpa')) {
    const nibbles = n.slice(0, -'.ip6.arpa'.length).split('.');
    if (nibbles.length !== 32) return undefined;
    const hex = nibbles.reverse().join('');
    const groups = hex.match(/.{4}/gu)!.join(':');
    return ipaddr.isValid(groups) ? ipaddr.parse(groups).toString() : undefined;
  }
  return undefined;
}

function answersFor(q: Question, scope: ClientScope): Answer[] | undefined {
  const name = q.name.toLowerCase().replace(/\.$/u, '');
  if (q.type === 'PTR') {
    const address = reverseAddress(name);
    const target = address ? scope.reverse.get(ipaddr.parse(address).toString()) : undefined;
    return target ? [{ type: 'PTR', name: q.name, ttl: TTL, data: target }] : undefined;
  }
  const own = scope.names.get(name);
  if (!own) return undefined;
  if (q.type === 'A') return own.v4.map((data) => ({ type: 'A', name: q.name, ttl: TTL, data }));
  if (q.type === 'AAAA') return own.v6.map((data) => ({ type: 'AAAA', name: q.name, ttl: TTL, data }));
  return []; // a name we own, of a type we hold none of: NODATA
}

/** The response to a query, when every question in it is one of ours; undefined sends it upstream. */
export function ownAnswer(query: Packet, scope: ClientScope): Packet | undefined {
  const questions = query.questions ?? [];
  if (questions.length !== 1 || query.type !== 'query') return undefined;
  const answers = answersFor(questions[0]!, scope);
  if (!answers) return undefined;
  return {
    id: query.id ?? 0,
    type: 'response',
    // QR, AA (our own names), RD copied, RA: we recurse for what is not ours.
    flags: (1 << 10) | ((query.flags ?? 0) & (1 << 8)) | (1 << 7),
    questions,
    answers,
  } as Packet;
}

/** Return codes, which dns-packet encodes from the low bits of the flags. */
const RCODES = { FORMERR: 1, SERVFAIL: 2, REFUSED: 5 } as const;

/** A response with only a return code to a query. */
export function failure(query: Packet, rcode: keyof typeof RCODES): Packet {
  return { id: query.id ?? 0, type: 'response', flags: ((query.flags ?? 0) & (1 << 8)) | (1 << 7) | RCODES[rcode], questions: query.questions ?? [] } as Packet;
}
