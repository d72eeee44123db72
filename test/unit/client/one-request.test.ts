/**
 * The CLI's one-request client against Node's own HTTP server on a unix socket (answers by length, chunked, and
 * errors), and its reading of answers the daemon would never send.
 */
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MalformedAnswerError, parseAnswer, requestOnce } from '../../../src/client/one-request.js';

describe('one request on its own connection', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnet-one-request-'));
  const socket = join(dir, 'api.sock');
  let server: Server;

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        if (req.url === '/chunked') {
          res.write('{"a":');
          setTimeout(() => res.end('"é"}'), 5);
          return;
        }
        if (req.url === '/empty') return res.writeHead(204).end();
        res.writeHead(req.method === 'POST' ? 201 : 404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ method: req.method, url: req.url, type: req.headers['content-type'] ?? null, body }));
      });
    });
    await new Promise<void>((resolve) => server.listen(socket, resolve));
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends the method, path and JSON body, and reads the status and the body by its length', async () => {
    const a = await requestOnce(socket, 'POST', '/v1/networks?x=1', JSON.stringify({ name: 'wé' }));
    expect(a.status).toBe(201);
    expect(JSON.parse(a.body.toString())).toEqual({ method: 'POST', url: '/v1/networks?x=1', type: 'application/json', body: '{"name":"wé"}' });
    const b = await requestOnce(socket, 'GET', '/missing');
    expect(b.status).toBe(404);
    expect(JSON.parse(b.body.toString())).toMatchObject({ method: 'GET', type: null, body: '' });
  });

  it('reads a chunked body written in two parts, and an empty answer', async () => {
    expect((await requestOnce(socket, 'GET', '/chunked')).body.toString()).toBe('{"a":"é"}');
    expect(await requestOnce(socket, 'DELETE', '/empty')).toEqual({ status: 204, body: Buffer.alloc(0) });
  });

  it('rejects with the socket error when nobody listens', async () => {
    await expect(requestOnce(join(dir, 'none.sock'), 'GET', '/')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses answers cut short or not HTTP/1.1', () => {
    expect(() => parseAnswer(Buffer.alloc(0))).toThrow(MalformedAnswerError);
    expect(() => parseAnswer(Buffer.from('SSH-2.0-x\r\n\r\n'))).toThrow(/status line/u);
    expect(() => parseAnswer(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}'))).toThrow(/2 of 10/u);
    expect(() => parseAnswer(Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab'))).toThrow(/inside a chunk/u);
    expect(parseAnswer(Buffer.from('HTTP/1.1 500 Internal Server Error\r\n\r\noops')).body.toString()).toBe('oops');
  });
});
