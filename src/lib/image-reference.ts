/**
 * Image references as Docker writes them: [DOMAIN/]PATH[:TAG][@DIGEST]. The first component is a registry's domain
 * when it has a "." or a ":" or is "localhost"; otherwise the image is Docker Hub's (docker.io), where a one-part
 * path is an official image under "library/". Local names are the short form Docker shows ("busybox:latest",
 * "localhost:5000/tools/net:1").
 */
import { InvalidArgumentError } from '../errors.js';

export interface ImageReference {
  /** The registry's host[:port]: "docker.io" for Docker Hub. */
  readonly domain: string;
  /** The repository inside it: "library/busybox". */
  readonly path: string;
  readonly tag?: string;
  /** sha256:<hex>: the manifest's digest. */
  readonly digest?: string;
}

export const DOCKER_HUB = 'docker.io';
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/u;
const DOMAIN = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?$/u;
const TAG = /^[\w][\w.-]{0,127}$/u;
const DIGEST = /^sha256:[0-9a-f]{64}$/u;

const invalid = (ref: string, why: string): InvalidArgumentError =>
  new InvalidArgumentError(`invalid image reference "${ref}": ${why} (expected [REGISTRY/]NAME[:TAG][@sha256:DIGEST])`);

/** Parses a reference; throws an InvalidArgumentError that says what is wrong with it. */
export function parseReference(ref: string): ImageReference {
  if (ref.length === 0 || ref.length > 255) throw invalid(ref, 'it must have 1 to 255 characters');
  const at = ref.indexOf('@');
  const digest = at >= 0 ? ref.slice(at + 1) : undefined;
  if (digest !== undefined && !DIGEST.test(digest)) throw invalid(ref, 'the digest must be sha256: and 64 hex digits');
  let rest = at >= 0 ? ref.slice(0, at) : ref;
  const slash = rest.indexOf('/');
  const first = slash >= 0 ? rest.slice(0, slash) : '';
  const hasDomain = slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost');
  const domain = hasDomain ? first : DOCKER_HUB;
  if (hasDomain) rest = rest.slice(slash + 1);
  if (!DOMAIN.test(domain)) throw invalid(ref, `"${domain}" is not a registry host[:port]`);
  const colon = rest.lastIndexOf(':');
  const tag = colon >= 0 ? rest.slice(colon + 1) : undefined;
  const name = colon >= 0 ? rest.slice(0, colon) : rest;
  if (tag !== undefined && !TAG.test(tag)) throw invalid(ref, `"${tag}" is not a tag (letters, digits, _ . -, at most 128)`);
  const parts = name.split('/');
  if (parts.some((p) => !COMPONENT.test(p))) throw invalid(ref, 'the name is lower-case letters and digits, parts separated by "/", "." , "_" or "-"');
  const path = domain === DOCKER_HUB && parts.length === 1 ? `library/${name}` : name;
  return { domain, path, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

/** The repository as Docker shows it: Docker Hub's domain and "library/" left out. */
export function familiarRepository(r: ImageReference): string {
  if (r.domain !== DOCKER_HUB) return `${r.domain}/${r.path}`;
  return r.path.startsWith('library/') && r.path.split('/').length === 2 ? r.path.slice(8) : r.path;
}

/** The local name of an image: "repo:tag" (":latest" when neither a tag nor a digest is given), or "repo@digest". */
export function localName(r: ImageReference): string {
  if (r.tag === undefined && r.digest !== undefined) return `${familiarRepository(r)}@${r.digest}`;
  return `${familiarRepository(r)}:${r.tag ?? 'latest'}`;
}

/** A reference's local name, or undefined when it is not a reference (an image id prefix, say). */
export function tryLocalName(ref: string): string | undefined {
  try {
    return localName(parseReference(ref));
  } catch {
    return undefined;
  }
}
