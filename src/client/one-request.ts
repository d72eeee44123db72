/**
 * One HTTP/1.1 request on a connection of its own to the daemon's unix socket, read until the daemon closes it.
 * The CLI's plain calls (JSON in, JSON out) go through here rather than node:http: loading Node's HTTP client costs
 * a command about 15 ms of its start (a sixth of Node's own), and a request that closes its connection needs only
 * the status line, two headers and the body. Streams, uploads and upgrades still use node:http.
 */
import { connect } from 'node:net';

export interface Answer {
  readonly status: number;
  readonly body: Buffer;
}

/** Why an answer could not be read: the daemon closed early or did not speak HTTP/1.1. */
export class MalformedAnswerError extends Error {
  constructor(why: string) {
    super(`the daemon's answer could not be read: ${why}`);
    this.name = new.target.name;
  }
}

/** Sends the request; resolves with the whole answer once the daemon has closed the connection. */
export function requestOnce(socketPath: string, method: string, path: string, json?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    const head = [`${method} ${path} HTTP/1.1`, 'Host: localhost', 'Connection: close'];
    if (json !== undefined) head.push('Content-Type: application/json', `Content-Length: ${Buffer.byteLength(json)}`);
    // Not end(): Node's HTTP server drops a request whose connection the client half-closes.
    socket.write(`${head.join('\r\n')}\r\n\r\n${json ?? ''}`);
    const chunks: Buffer[] = [];
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', reject);
    socket.on('end', () => {
      try {
        resolve(parseAnswer(Buffer.concat(chunks)));
      } catch (err) {
        reject(err);
      }
    });
  });
}

/** An HTTP/1.1 answer, whole: its status and its body (by Content-Length, chunked, or up to the close). */
export function parseAnswer(bytes: Buffer): Answer {
  const end = bytes.indexOf('\r\n\r\n');
  if (end < 0) throw new MalformedAnswerError(bytes.length === 0 ? 'the connection closed before any answer' : 'its head has no end');
  const [statusLine = '', ...fields] = bytes.subarray(0, end).toString('latin1').split('\r\n');
  const status = /^HTTP\/1\.[01] (\d{3})(?: |$)/u.exec(statusLine);
  if (!status) throw new MalformedAnswerError(`unexpected status line "${statusLine.slice(0, 60)}"`);
  const headers = new Map<string, string>();
  for (const field of fields) {
    const colon = field.indexOf(':');
    if (colon > 0) headers.set(field.slice(0, colon).trim().toLowerCase(), field.slice(colon + 1).trim());
  }
  const rest = bytes.subarray(end + 4);
  const body = /\bchunked\b/iu.test(headers.get('transfer-encoding') ?? '') ? unchunk(rest) : sized(rest, headers.get('content-length'));
  return { status: Number(status[1]), body };
}

function sized(rest: Buffer, length: string | undefined): Buffer {
  if (length === undefined) return rest;
  const n = Number(length);
  if (!Number.isSafeInteger(n) || n < 0) throw new MalformedAnswerError(`bad Content-Length "${length}"`);
  if (rest.length < n) throw new MalformedAnswerError(`the body ended after ${rest.length} of ${n} bytes`);
  return rest.subarray(0, n);
}

function unchunk(rest: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = rest.indexOf('\r\n', at);
    if (lineEnd < 0) throw new MalformedAnswerError('a chunk has no size line');
    const size = parseInt(rest.subarray(at, lineEnd).toString('latin1'), 16);
    if (!Number.isSafeInteger(size) || size < 0) throw new MalformedAnswerError('a chunk has a bad size');
    if (size === 0) return Buffer.concat(parts);
    const start = lineEnd + 2;
    if (rest.length < start + size + 2) throw new MalformedAnswerError('the body ended inside a chunk');
    parts.push(rest.subarray(start, start + size));
    at = start + size + 2;
  }
}
