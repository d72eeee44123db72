/**
 * Registry credentials on the user's side, as Docker keeps them: a config.json with "auths": { SERVER: { auth:
 * base64(user:password) } }, mode 0600. `tsnet login` writes tsnet's own ($TSNET_CONFIG/config.json, else
 * ~/.tsnet/config.json); lookups read it, then Docker's ($DOCKER_CONFIG or ~/.docker), so a `docker login` works.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { RegistryAuth } from '../api/images.js';
import { DOCKER_HUB, parseReference } from '../lib/image-reference.js';

interface ConfigFile {
  auths?: Record<string, { auth?: string }>;
  [other: string]: unknown;
}

/** Docker's key for Docker Hub in config.json. */
const HUB_KEY = 'https://index.docker.io/v1/';

export const tsnetConfigFile = (): string => join(process.env.TSNET_CONFIG ?? join(homedir(), '.tsnet'), 'config.json');
const dockerConfigFile = (): string => join(process.env.DOCKER_CONFIG ?? join(homedir(), '.docker'), 'config.json');

/** A server as login names it ("https://host:5000/v2/" or "host:5000") reduced to host[:port]; Docker Hub's to docker.io. */
export function serverDomain(server: string | undefined): string {
  if (!server) return DOCKER_HUB;
  const host = server.replace(/^[a-z]+:\/\//u, '').replace(/\/.*$/u, '');
  return ['index.docker.io', 'registry-1.docker.io', 'docker.io'].includes(host) ? DOCKER_HUB : host;
}

const keyOf = (domain: string): string => (domain === DOCKER_HUB ? HUB_KEY : domain);

function readConfig(file: string): ConfigFile {
  if (!existsSync(file)) return {};
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as ConfigFile;
  } catch {
    return {};
  }
}

function decode(entry: { auth?: string } | undefined): RegistryAuth | undefined {
  if (!entry?.auth) return undefined;
  const text = Buffer.from(entry.auth, 'base64').toString();
  const colon = text.indexOf(':');
  return colon > 0 ? { username: text.slice(0, colon), password: text.slice(colon + 1) } : undefined;
}

/** The credentials saved for a registry's domain, if any. */
export function credentialsFor(domain: string): RegistryAuth | undefined {
  for (const file of [tsnetConfigFile(), dockerConfigFile()]) {
    const auths = readConfig(file).auths ?? {};
    const found = decode(auths[keyOf(domain)]) ?? decode(auths[`https://${domain}`]) ?? decode(auths[`http://${domain}`]);
    if (found) return found;
  }
  return undefined;
}

/** The credentials for the registry an image reference names (an invalid reference: none; the daemon says why). */
export function credentialsForImage(reference: string): RegistryAuth | undefined {
  try {
    return credentialsFor(parseReference(reference).domain);
  } catch {
    return undefined;
  }
}

/** Saves (or, with undefined, forgets) a registry's credentials in tsnet's config file, atomically, mode 0600. */
export function storeCredentials(domain: string, auth: RegistryAuth | undefined): boolean {
  const file = tsnetConfigFile();
  const config = readConfig(file);
  const auths = { ...config.auths };
  const had = keyOf(domain) in auths;
  if (auth) auths[keyOf(domain)] = { auth: Buffer.from(`${auth.username}:${auth.password}`).toString('base64') };
  else delete auths[keyOf(domain)];
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify({ ...config, auths }, null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
  return had;
}
