/**
 * How a registry asks for credentials, and how they are given: its WWW-Authenticate challenge (RFC 7235) is either
 * Basic (the username and password on every request) or Bearer (a token from the realm it names, asked for with
 * the service and scope, and with the username and password when there are any: Docker's token protocol).
 */
import { TsnetError } from '../../errors.js';

export interface RegistryCredentials {
  readonly username: string;
  readonly password: string;
}

export interface Challenge {
  readonly scheme: 'basic' | 'bearer';
  readonly params: Readonly<Record<string, string>>;
}

/** The first Basic or Bearer challenge of a WWW-Authenticate header, its parameters unquoted. */
export function parseChallenge(header: string | null): Challenge | undefined {
  if (!header) return undefined;
  const m = /^\s*(basic|bearer)\b\s*(.*)$/isu.exec(header);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  for (const p of m[2]!.matchAll(/([A-Za-z_][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/gu)) {
    params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/gu, '$1') : p[3]!;
  }
  return { scheme: m[1]!.toLowerCase() as Challenge['scheme'], params };
}

export const basicAuthorization = (c: RegistryCredentials): string => `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;

/** Asks a Bearer challenge's realm for a token for the scope; resolves with the Authorization header value. */
export async function fetchBearer(challenge: Challenge, scope: string | undefined, credentials: RegistryCredentials | undefined): Promise<string> {
  const realm = challenge.params['realm'];
  if (!realm) throw new TsnetError('TSNET_ERR_REGISTRY', 'the registry asked for a bearer token but named no realm to get it from');
  const url = new URL(realm);
  if (challenge.params['service']) url.searchParams.set('service', challenge.params['service']);
  if (scope) url.searchParams.set('scope', scope);
  const headers: Record<string, string> = credentials ? { authorization: basicAuthorization(credentials) } : {};
  let res: Response;
  try {
    res = await fetch(url, { headers });
  } catch (err) {
    throw new TsnetError('TSNET_ERR_REGISTRY', `cannot reach the token service ${url.origin}: ${(err as Error).message}`, { cause: err });
  }
  if (res.status === 401 || res.status === 403)
    throw new TsnetError(
      'TSNET_ERR_UNAUTHORIZED',
      `the token service ${url.origin} refused ${credentials ? `the credentials of "${credentials.username}"` : 'anonymous access'}`,
    );
  if (!res.ok) throw new TsnetError('TSNET_ERR_REGISTRY', `the token service ${url.origin} answered ${res.status} ${res.statusText}`);
  const body = (await res.json()) as { token?: string; access_token?: string };
  const token = body.token ?? body.access_token;
  if (!token) throw new TsnetError('TSNET_ERR_REGISTRY', `the token service ${url.origin} answered without a token`);
  return `Bearer ${token}`;
}
