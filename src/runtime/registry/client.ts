/**
 * One repository of a registry, spoken to with the OCI distribution API (/v2/...): requests carry the credentials
 * the registry's challenge asks for (Basic, or a Bearer token for the repository's scope), and blobs are checked
 * against their digests as they stream. Loopback registries are spoken to over plain HTTP, as Docker does.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { createGunzip } from 'node:zlib';
import { TsnetError } from '../../errors.js';
import { DOCKER_HUB } from '../../lib/image-reference.js';
import { basicAuthorization, fetchBearer, parseChallenge, type RegistryCredentials } from './auth.js';

export interface RegistryOptions {
  readonly credentials?: RegistryCredentials;
  /** Plain HTTP for a registry that is not on loopback (Docker's --insecure-registry). */
  readonly insecure?: boolean;
}

interface SendInit {
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Buffer | ReadableStream<Uint8Array>;
  readonly size?: number;
  /** The statuses that are answers; any other is an error. */
  readonly expect: readonly number[];
}

const isLoopback = (host: string): boolean => /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/u.test(host);

/** The registry's base URL: Docker Hub's API host for docker.io; http for loopback (or insecure) ones. */
export function registryBase(domain: string, insecure = false): string {
  const host = domain === DOCKER_HUB ? 'registry-1.docker.io' : domain;
  return `${insecure || isLoopback(host) ? 'http' : 'https'}://${host}`;
}

/** The registry's own words for an error response ({"errors":[{code,message}]}), when it has them. */
async function registryWords(res: Response): Promise<string> {
  const text = await res.text().catch(() => '');
  try {
    const errors = (JSON.parse(text) as { errors?: { code?: string; message?: string }[] }).errors ?? [];
    if (errors.length) return errors.map((e) => `${e.code ?? 'ERROR'}: ${e.message ?? ''}`).join('; ');
  } catch {
    /* not JSON: the status says it */
  }
  return `${res.status} ${res.statusText}`;
}

/** Hashes what passes through it (sha256). */
function hashing(hash: ReturnType<typeof createHash>): Transform {
  return new Transform({
    transform(chunk: Buffer, _e, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
}

export class RegistryClient {
  private authorization: string | undefined;
  readonly base: string;

  constructor(
    readonly domain: string,
    readonly repository: string,
    /** The actions the token's scope asks for: "pull", or "pull,push". */
    private readonly actions: string,
    private readonly options: RegistryOptions = {},
  ) {
    this.base = registryBase(domain, options.insecure);
  }

  private get where(): string {
    return `${this.domain}/${this.repository}`;
  }

  /** A request, authorised as the registry's challenge asks (once per client); errors say what the registry said. */
  async send(method: string, path: string, init: SendInit): Promise<Response> {
    const url = path.startsWith('http') ? path : `${this.base}${path}`;
    let res = await this.fetch(method, url, init);
    if (res.status === 401 && !init.expect.includes(401) && !(init.body instanceof ReadableStream)) {
      await res.body?.cancel();
      await this.authorise(res.headers.get('www-authenticate'));
      res = await this.fetch(method, url, init);
      if (res.status === 401) {
        const who = this.options.credentials ? `the credentials of "${this.options.credentials.username}"` : 'anonymous access';
        throw new TsnetError('TSNET_ERR_UNAUTHORIZED', `${this.domain} refused ${who} to ${this.actions} ${this.repository}: ${await registryWords(res)}`);
      }
    }
    if (!init.expect.includes(res.status)) {
      const words = await registryWords(res);
      if (res.status === 404) throw new TsnetError('TSNET_ERR_NOT_FOUND', `${method} ${this.where}: not found in the registry (${words})`);
      if (res.status === 401 || res.status === 403) throw new TsnetError('TSNET_ERR_UNAUTHORIZED', `${method} ${this.where}: ${words}`);
      throw new TsnetError('TSNET_ERR_REGISTRY', `${method} ${this.where}: the registry answered ${words}`);
    }
    return res;
  }

  private async fetch(method: string, url: string, init: SendInit): Promise<Response> {
    const headers: Record<string, string> = { ...init.headers, ...(this.authorization ? { authorization: this.authorization } : {}) };
    if (init.size !== undefined) headers['content-length'] = String(init.size);
    try {
      return await fetch(url, {
        method,
        headers,
        ...(init.body ? { body: init.body, duplex: 'half' } : {}),
      } as RequestInit);
    } catch (err) {
      const cause = (err as { cause?: Error }).cause?.message ?? (err as Error).message;
      throw new TsnetError('TSNET_ERR_REGISTRY', `cannot reach the registry at ${this.base}: ${cause}`, { cause: err });
    }
  }

  private async authorise(header: string | null): Promise<void> {
    const challenge = parseChallenge(header);
    const credentials = this.options.credentials;
    if (challenge?.scheme === 'bearer') {
      this.authorization = await fetchBearer(challenge, `repository:${this.repository}:${this.actions}`, credentials);
    } else if (challenge?.scheme === 'basic' && credentials) {
      this.authorization = basicAuthorization(credentials);
    } else {
      throw new TsnetError(
        'TSNET_ERR_UNAUTHORIZED',
        `${this.domain} asks for credentials to ${this.actions} ${this.repository}: log in first (tsnet login ${this.domain})`,
      );
    }
  }

  /** A manifest (or an index) by tag or digest, with the media types asked for; its bytes, type and digest. */
  async getManifest(reference: string, accept: readonly string[]): Promise<{ bytes: Buffer; mediaType: string; digest: string }> {
    const res = await this.send('GET', `/v2/${this.repository}/manifests/${reference}`, { headers: { accept: accept.join(', ') }, expect: [200] });
    const bytes = Buffer.from(await res.arrayBuffer());
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    if (reference.startsWith('sha256:') && reference !== digest)
      throw new TsnetError('TSNET_ERR_REGISTRY', `the manifest of ${this.where}@${reference} does not match its digest (${digest})`);
    const mediaType = (JSON.parse(bytes.toString()) as { mediaType?: string }).mediaType ?? res.headers.get('content-type') ?? '';
    return { bytes, mediaType: mediaType.split(';')[0]!.trim(), digest };
  }

  /** A blob into a file, checked against its digest; gunzipped on the way when it is a gzip layer. */
  async downloadBlob(digest: string, file: string, gunzip = false): Promise<void> {
    const res = await this.send('GET', `/v2/${this.repository}/blobs/${digest}`, { expect: [200] });
    const hash = createHash('sha256');
    const source = Readable.fromWeb(res.body as WebReadableStream<Uint8Array>);
    await (gunzip ? pipeline(source, hashing(hash), createGunzip(), createWriteStream(file)) : pipeline(source, hashing(hash), createWriteStream(file)));
    const got = `sha256:${hash.digest('hex')}`;
    if (got !== digest) throw new TsnetError('TSNET_ERR_REGISTRY', `the blob ${digest} of ${this.where} arrived with digest ${got}: refused`);
  }

  /** A blob's bytes (a config), checked against its digest. */
  async getBlob(digest: string): Promise<Buffer> {
    const res = await this.send('GET', `/v2/${this.repository}/blobs/${digest}`, { expect: [200] });
    const bytes = Buffer.from(await res.arrayBuffer());
    const got = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    if (got !== digest) throw new TsnetError('TSNET_ERR_REGISTRY', `the blob ${digest} of ${this.where} arrived with digest ${got}: refused`);
    return bytes;
  }

  async hasBlob(digest: string): Promise<boolean> {
    const res = await this.send('HEAD', `/v2/${this.repository}/blobs/${digest}`, { expect: [200, 404] });
    return res.status === 200;
  }

  /** Uploads a blob (a file or bytes) in one piece: an upload session is opened, then completed with the digest. */
  async uploadBlob(digest: string, content: { file: string; size: number } | Buffer): Promise<void> {
    const opened = await this.send('POST', `/v2/${this.repository}/blobs/uploads/`, { expect: [202] });
    const location = opened.headers.get('location');
    if (!location) throw new TsnetError('TSNET_ERR_REGISTRY', `${this.where}: the registry opened an upload without a Location`);
    const url = new URL(location, this.base);
    url.searchParams.set('digest', digest);
    const body = Buffer.isBuffer(content) ? content : (Readable.toWeb(createReadStream(content.file)) as ReadableStream<Uint8Array>);
    const size = Buffer.isBuffer(content) ? content.length : content.size;
    await this.send('PUT', url.toString(), { headers: { 'content-type': 'application/octet-stream' }, body, size, expect: [201] });
  }

  /** Puts a manifest under a tag; resolves with the digest the registry gives it. */
  async putManifest(tag: string, mediaType: string, bytes: Buffer): Promise<string> {
    const res = await this.send('PUT', `/v2/${this.repository}/manifests/${tag}`, { headers: { 'content-type': mediaType }, body: bytes, expect: [201] });
    return res.headers.get('docker-content-digest') ?? `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  }
}

/** Checks credentials against a registry as `docker login` does: GET /v2/ with what its challenge asks for. */
export async function checkLogin(domain: string, credentials: RegistryCredentials, insecure = false): Promise<void> {
  const client = new RegistryClient(domain, '', '', { credentials, insecure });
  const first = await client.send('GET', '/v2/', { expect: [200, 401] });
  if (first.status === 200) return;
  const challenge = parseChallenge(first.headers.get('www-authenticate'));
  const authorization = challenge?.scheme === 'bearer' ? await fetchBearer(challenge, undefined, credentials) : basicAuthorization(credentials);
  const res = await fetch(`${client.base}/v2/`, { headers: { authorization } }).catch((err: Error) => {
    throw new TsnetError('TSNET_ERR_REGISTRY', `cannot reach the registry at ${client.base}: ${err.message}`);
  });
  if (res.status === 401 || res.status === 403)
    throw new TsnetError('TSNET_ERR_UNAUTHORIZED', `${domain} refused the credentials of "${credentials.username}"`);
  if (!res.ok) throw new TsnetError('TSNET_ERR_REGISTRY', `${domain} answered ${await registryWords(res)}`);
}
