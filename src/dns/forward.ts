/**
 * Forwarding a query the resolver does not own to upstream servers, byte for byte: over UDP for a UDP query (a
 * truncated answer goes back truncated, and the client retries over TCP), over TCP for a TCP one. The first server
 * that answers wins; each is given a timeout.
 */
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { isIPv6 } from 'node:net';

export const UPSTREAM_TIMEOUT_MS = 2000;

function overUdp(query: Buffer, server: string, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(isIPv6(server) ? 'udp6' : 'udp4');
    const done = (err: Error | undefined, answer?: Buffer): void => {
      clearTimeout(timer);
      socket.close();
      if (err) reject(err);
      else resolve(answer!);
    };
    const timer = setTimeout(() => done(new Error(`${server}: no answer in ${timeoutMs} ms`)), timeoutMs);
    // Only the answer to this query's id counts: a late answer to an earlier one is not it.
    socket.on('message', (msg) => (msg.length >= 2 && msg.readUInt16BE(0) === query.readUInt16BE(0) ? done(undefined, msg) : undefined));
    socket.on('error', (err) => done(err));
    socket.send(query, 53, server);
  });
}

/** One length-prefixed message over TCP, as RFC 1035 4.2.2 frames them. */
function overTcp(query: Buffer, server: string, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect(53, server);
    let data = Buffer.alloc(0);
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`${server}: no answer in ${timeoutMs} ms`)));
    socket.on('connect', () => socket.end(Buffer.concat([Buffer.from([query.length >> 8, query.length & 0xff]), query])));
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      if (data.length >= 2 && data.length >= 2 + data.readUInt16BE(0)) {
        resolve(data.subarray(2, 2 + data.readUInt16BE(0)));
        socket.destroy();
      }
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`${server}: closed before answering`)));
  });
}

/** The first answer of the servers, tried in order; throws when none answers. */
export async function forward(query: Buffer, servers: readonly string[], transport: 'udp' | 'tcp', timeoutMs = UPSTREAM_TIMEOUT_MS): Promise<Buffer> {
  const errors: unknown[] = [];
  for (const server of servers) {
    try {
      return await (transport === 'udp' ? overUdp(query, server, timeoutMs) : overTcp(query, server, timeoutMs));
    } catch (err) {
      errors.push(err);
    }
  }
  throw new AggregateError(errors, `no upstream server answered (${servers.join(', ') || 'none'})`);
}
