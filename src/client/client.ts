/**
 * The daemon's client: JSON over HTTP on the daemon's unix socket. Light on purpose (node:http only), since every
 * CLI command loads it.
 */
import { request } from 'node:http';

export const DEFAULT_HOST = 'unix:///run/tsnet/tsnet.sock';

/** --host, else TSNET_HOST, else the default socket. */
export function resolveHost(flag?: string): string {
  return flag ?? process.env.TSNET_HOST ?? DEFAULT_HOST;
}

export class DaemonUnreachableError extends Error {
  constructor(host: string) {
    super(`cannot reach the tsnet daemon at ${host}: is "tsnet daemon" running?`);
    this.name = 'DaemonUnreachableError';
  }
}

/** An error answer of the API: its status and the catalog code. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export class TsnetClient {
  private readonly socketPath: string;

  constructor(readonly host: string) {
    if (!host.startsWith('unix://')) throw new Error(`unsupported host "${host}": use unix:///path/to/tsnet.sock`);
    this.socketPath = host.slice('unix://'.length);
  }

  /** Sends a request; resolves with the parsed JSON answer (undefined for 204), rejects with ApiError. */
  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const { status, text } = await this.raw(method, path, body);
    if (status >= 400) throw apiError(status, text);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** Streams a response body (logs --follow) to onData. */
  stream(path: string, onData: (chunk: Buffer) => void): Promise<void> {
    return new Promise((resolve, reject) => {
      const req = request({ socketPath: this.socketPath, path, method: 'GET' }, (res) => {
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
      req.end();
    });
  }

  private raw(method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = request(
        {
          socketPath: this.socketPath,
          path,
          method,
          headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (d: Buffer) => chunks.push(d));
          res.on('end', () => resolve({ status: res.statusCode ?? 500, text: Buffer.concat(chunks).toString() }));
          res.on('error', reject);
        },
      );
      req.on('error', (err: NodeJS.ErrnoException) => reject(unreachable(err, this.host)));
      req.end(payload);
    });
  }
}

function apiError(status: number, text: string): ApiError {
  try {
    const { code, message } = JSON.parse(text) as { code: string; message: string };
    return new ApiError(status, code, message);
  } catch {
    return new ApiError(status, 'TSNET_ERR_INTERNAL', text);
  }
}

function unreachable(err: NodeJS.ErrnoException, host: string): Error {
  return ['ENOENT', 'ECONNREFUSED', 'EACCES'].includes(err.code ?? '') ? new DaemonUnreachableError(host) : err;
}
