/**
 * DNS from the tests' side: a fake upstream server (in the upstream namespace, playing the internet's resolvers)
 * that answers a few names and logs what it was asked, and a query client run inside any namespace. Both are node
 * processes through nsenter, using dns-packet, independent of tsnet's resolver.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import type { NetNs } from '../../src/netns/netns.js';
import type { Lab } from './lab.js';

const DNS_PACKET = createRequire(import.meta.url).resolve('dns-packet');

export interface FakeUpstream {
  /** The names it was asked, in order. */
  asked(): string[];
  stop(): void;
}

/**
 * Answers example.test A 203.0.113.80, big.test with TXT records too large for UDP (truncated there, whole over
 * TCP), and NXDOMAIN for everything else, on address:53 over UDP and TCP.
 */
export async function fakeUpstream(l: Lab, ns: NetNs, address: string): Promise<FakeUpstream> {
  const script = `
const p = require(${JSON.stringify(DNS_PACKET)});
const answer = (q, tcp) => {
  const name = q.questions[0].name;
  console.log(name);
  const base = { id: q.id, type: 'response', flags: 0x8180, questions: q.questions };
  if (name === 'example.test' && q.questions[0].type === 'A') return p.encode({ ...base, answers: [{ type: 'A', name, ttl: 60, data: '203.0.113.80' }] });
  if (name === 'big.test') {
    const answers = Array.from({ length: 20 }, (_, i) => ({ type: 'TXT', name, ttl: 60, data: 'x'.repeat(100) + i }));
    return tcp ? p.encode({ ...base, answers }) : p.encode({ ...base, flags: 0x8380 });
  }
  return p.encode({ ...base, flags: 0x8183 });
};
const u = require('dgram').createSocket('udp4');
u.on('message', (m, r) => u.send(answer(p.decode(m), false), r.port, r.address));
u.bind(53, ${JSON.stringify(address)}, () => {
  require('net').createServer((c) => c.on('data', (d) => { const a = answer(p.decode(d.subarray(2)), true); c.end(Buffer.concat([Buffer.from([a.length >> 8, a.length & 255]), a])); }))
    .listen(53, ${JSON.stringify(address)}, () => console.log('ready'));
});`;
  const child: ChildProcess = spawn('nsenter', [`--net=${ns.path}`, '--', process.execPath, '-e', script]);
  const lines: string[] = [];
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      lines.push(...d.toString().trim().split('\n'));
      if (lines.includes('ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`the fake upstream DNS server exited (${code})`)));
  });
  return { asked: () => lines.filter((x) => x !== 'ready'), stop: () => child.kill() };
}

export interface DnsReply {
  readonly rcode: string;
  readonly tc: boolean;
  readonly answers: { type: string; data: unknown }[];
}

/** One query from inside ns to server:53 over udp or tcp. */
export async function dnsQuery(l: Lab, ns: NetNs, server: string, name: string, type: string, transport: 'udp' | 'tcp' = 'udp'): Promise<DnsReply> {
  const script = `
const p = require(${JSON.stringify(DNS_PACKET)});
const q = p.encode({ id: 7, type: 'query', flags: p.RECURSION_DESIRED, questions: [{ type: ${JSON.stringify(type)}, name: ${JSON.stringify(name)} }] });
const out = (b) => { const r = p.decode(b); console.log(JSON.stringify({ rcode: r.rcode, tc: r.flag_tc, answers: r.answers.map((a) => ({ type: a.type, data: Buffer.isBuffer(a.data) || Array.isArray(a.data) ? String(a.data) : a.data })) })); process.exit(0); };
setTimeout(() => process.exit(3), 4000);
if (${JSON.stringify(transport)} === 'udp') { const s = require('dgram').createSocket('udp4'); s.on('message', out); s.send(q, 53, ${JSON.stringify(server)}); }
else { const c = require('net').connect(53, ${JSON.stringify(server)}, () => c.write(Buffer.concat([Buffer.from([q.length >> 8, q.length & 255]), q]))); let d = Buffer.alloc(0); c.on('data', (x) => { d = Buffer.concat([d, x]); if (d.length >= 2 + d.readUInt16BE(0)) out(d.subarray(2)); }); }`;
  const { stdout } = await l.exec(ns, process.execPath, ['-e', script]);
  return JSON.parse(stdout) as DnsReply;
}
