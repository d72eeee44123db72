/**
 * The daemon's client: JSON over HTTP on the daemon's unix socket. Light on purpose, since every CLI command loads
 * it: plain calls are one request on a connection of their own (one-request.ts), node:http is loaded only by the
 * streams, uploads and upgrades, and the API contract's types are erased by the build.
 */
import type { request as HttpRequest } from 'node:http';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { ErrorBody } from '../api/common.js';
import { DEFAULT_SOCKET } from '../api/defaults.js';
import { MalformedAnswerError, requestOnce } from './one-request.js';

export const DEFAULT_HOST = `unix://${DEFAULT_SOCKET}`;

/** --host, else TSNET_HOST, else the default socket. */
export function resolveHost(flag?: string): string {
  return flag ?? process.env.TSNET_HOST ?? DEFAULT_HOST;
}

/** An error the client met or the API answered: the catalog code and the message. */
export class ClientError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class DaemonUnreachableError extends ClientError {
  constructor(host: string) {
    super('TSNET_ERR_DAEMON_UNREACHABLE', `cannot reach the tsnet daemon at ${host}: is "tsnet daemon" running?`);
  }
}

export class SocketPermissionError extends ClientError {
  constructor(host: string) {
    super('TSNET_ERR_PERMISSION_DENIED', `permission denied on ${host} (are you root or in the tsnet group?)`);
  }
}

/** An error answer of the API: its status and the catalog code. */
export class ApiError extends ClientError {
  constructor(
    readonly status: number,
    code: string,
    message: string,
  ) {
    super(code, message);
  }
}

export class TsnetClient {
  private readonly socketPath: string;

  constructor(readonly host: string) {
    if (!host.startsWith('unix://')) throw new ClientError('TSNET_ERR_INVALID_ARGUMENT', `unsupported host "${host}": use unix:///path/to/tsnet.sock`);
    this.socketPath = host.slice('unix://'.length);
  }

  /** Sends a request; resolves with the parsed JSON answer (undefined for 204), rejects with ApiError. */
  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const { status, text } = await this.raw(method, path, body);
    if (status >= 400) throw apiError(status, text);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /**
   * Asks for an upgraded connection (attach, streamed exec): resolves with the socket once the daemon has answered
   * 101, whose bytes are then frames both ways (see api/containers.ts); an error answer rejects with ApiError.
   */
  async upgrade(method: string, path: string, body?: unknown): Promise<Socket> {
    const request = await httpRequest();
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? '' : JSON.stringify(body);
      const headers = {
        connection: 'Upgrade',
        upgrade: 'tcp',
        'content-length': Buffer.byteLength(payload),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      };
      const req = request({ socketPath: this.socketPath, path, method, headers });
      req.on('upgrade', (_res, socket: Socket, head: Buffer) => {
        if (head.length) socket.unshift(head);
        socket.setNoDelay(true);
        resolve(socket);
      });
      req.on('response', (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => reject(apiError(res.statusCode ?? 500, text)));
      });
      req.on('error', (err: NodeJS.ErrnoException) => reject(unreachable(err, this.host)));
      req.end(payload);
    });
  }

  /** Sends a stream as the request body (a volume's archive); resolves with the parsed JSON answer. */
  async upload<T>(method: string, path: string, body: Readable, contentType: string): Promise<T> {
    const request = await httpRequest();
    return new Promise((resolve, reject) => {
      const req = request({ socketPath: this.socketPath, path, method, headers: { 'content-type': contentType } }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () =>
          (res.statusCode ?? 500) >= 400 ? reject(apiError(res.statusCode ?? 500, text)) : resolve((text ? JSON.parse(text) : undefined) as T),
        );
        res.on('error', reject);
      });
      req.on('error', (err: NodeJS.ErrnoException) => reject(unreachable(err, this.host)));
      body.on('error', (err) => req.destroy(err));
      body.pipe(req);
    });
  }

  /** Streams a response body (logs --follow) to onData. */
  async stream(path: string, onData: (chunk: Buffer) => void, options: { method?: string; body?: unknown } = {}): Promise<void> {
    const request = await httpRequest();
    return new Promise((resolve, reject) => {
      const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
      const headers = payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) };
      const req = request({ socketPath: this.socketPath, path, method: options.method ?? 'GET', headers }, (res) => {
        if ((res.statusCode ?? 500) >= 400) {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => reject(apiError(res.statusCode ?? 500, text)));
          return;
        }
        res.on('data', onData);
        res.on('end', () => resolve());
        res.on('error', reject);
      });
      req.on('error', (err: NodeJS.ErrnoException) => reject(unreachable(err, this.host)));
      req.end(payload);
    });
  }

  private async raw(method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
    try {
      const answer = await requestOnce(this.socketPath, method, path, body === undefined ? undefined : JSON.stringify(body));
      return { status: answer.status, text: answer.body.toString() };
    } catch (err) {
      if (err instanceof MalformedAnswerError) throw new ClientError('TSNET_ERR_INTERNAL', `${method} ${path}: ${err.message}`);
      throw unreachable(err as NodeJS.ErrnoException, this.host);
    }
  }
}

/** node:http, loaded by the first request: a command that asks the daemon nothing (--help) does without it. */
async function httpRequest(): Promise<typeof HttpRequest> {
  return (await import('node:http')).request;
}

function apiError(status: number, text: string): ApiError {
  try {
    const { code, message } = JSON.parse(text) as ErrorBody;
    return new ApiError(status, code, message);
  } catch {
    return new ApiError(status, 'TSNET_ERR_INTERNAL', text);
  }
}

function unreachable(err: NodeJS.ErrnoException, host: string): Error {
  if (err.code === 'EACCES' || err.code === 'EPERM') return new SocketPermissionError(host);
  return ['ENOENT', 'ECONNREFUSED'].includes(err.code ?? '') ? new DaemonUnreachableError(host) : err;
}
