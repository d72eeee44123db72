/** A sandbox's /etc/hosts and /etc/resolv.conf, written in its folder and bind-mounted into its container. */
import { readFileSync, readdirSync, rmSync, rmdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { addressOf } from '../../ipam/subnet.js';
import { rewriteInPlace } from '../../lib/rewrite-in-place.js';

const HOSTS_HEADER = [
  '127.0.0.1\tlocalhost',
  '::1\tlocalhost ip6-localhost ip6-loopback',
  'fe00::0\tip6-localnet',
  'ff00::0\tip6-mcastprefix',
  'ff02::1\tip6-allnodes',
  'ff02::2\tip6-allrouters',
];

/** Docker's fallback when the host has only loopback resolvers, which a container cannot reach. */
const FALLBACK_DNS = ['8.8.8.8', '8.8.4.4'];

/** A line added to a container's /etc/hosts (Docker's --add-host NAME:IP). */
export interface ExtraHost {
  readonly name: string;
  readonly ip: string;
}

export function hostsFile(hostname: string, addresses: readonly string[], aliases: readonly string[] = [], extra: readonly ExtraHost[] = []): string {
  const names = [hostname, ...aliases].join(' ');
  return [...HOSTS_HEADER, ...extra.map((h) => `${h.ip}\t${h.name}`), ...addresses.map((a) => `${addressOf(a)}\t${names}`), ''].join('\n');
}

/** What --dns, --dns-search and --dns-option set; what is not given comes from the host's resolv.conf, as Docker does. */
export interface DnsSettings {
  readonly servers?: readonly string[];
  readonly search?: readonly string[];
  readonly options?: readonly string[];
}

/** The host's resolvers a container can reach (loopback ones excluded, as Docker excludes them) and its search list. */
export function hostResolvers(hostResolvConf = '/etc/resolv.conf'): { servers: string[]; search: string[] } {
  let text = '';
  try {
    text = readFileSync(hostResolvConf, 'utf8');
  } catch {
    // no host resolver configuration: none
  }
  const servers: string[] = [];
  let search: string[] = [];
  for (const line of text.split('\n')) {
    const [key, ...rest] = line.trim().split(/\s+/u);
    if (key === 'nameserver' && rest[0] && !rest[0].startsWith('127.') && rest[0] !== '::1') servers.push(rest[0]);
    if (key === 'search') search = rest;
  }
  return { servers, search };
}

/**
 * A container's resolv.conf. With an embedded resolver (user-defined networks) it is the only nameserver, and the
 * servers it forwards to are noted as Docker notes them ("# ExtServers: [...]"); without one, --dns or the host's.
 */
export function resolvConf(settings: DnsSettings, hostResolvConf = '/etc/resolv.conf', embedded?: string): string {
  const host = hostResolvers(hostResolvConf);
  const given = [...(settings.servers ?? [])];
  const search = settings.search?.length ? [...settings.search] : host.search;
  const upstream = given.length ? given : host.servers.length ? host.servers : FALLBACK_DNS;
  // As Docker's with its internal resolver: container names have no dots, so they are asked as they are first.
  const wanted = [...(settings.options ?? [])];
  if (embedded && !wanted.some((o) => o.startsWith('ndots:'))) wanted.push('ndots:0');
  const options = wanted.length ? [`options ${wanted.join(' ')}`] : [];
  const servers = embedded ? [embedded] : upstream;
  const note = embedded ? ['', `# ExtServers: [${upstream.join(' ')}]`] : [];
  return [...(search.length ? [`search ${search.join(' ')}`] : []), ...servers.map((s) => `nameserver ${s}`), ...options, ...note, ''].join('\n');
}

/** The names in a folder; none when it does not exist. */
function listFolder(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

export class SandboxFiles {
  /** What was last written for each sandbox this run: an unchanged file is not written again (each connect asks). */
  private readonly written = new Map<string, { hosts?: string | undefined; resolv?: string | undefined }>();

  /** Sandboxes whose folder is in the legacy folder (made by an earlier version, which kept them there). */
  private readonly legacyIds: Set<string>;

  constructor(
    private readonly root: string,
    private readonly legacyRoot?: string,
  ) {
    // Earlier versions moved removed sandboxes' folders there before deleting them: what a stop or a crash left.
    rmSync(`${root}.removed`, { recursive: true, force: true });
    this.legacyIds = new Set(legacyRoot && legacyRoot !== root ? listFolder(legacyRoot) : []);
    if (legacyRoot && legacyRoot !== root && this.legacyIds.size === 0) rmSync(legacyRoot, { recursive: true, force: true });
  }

  dir(id: string): string {
    return this.legacyIds.has(id) ? join(this.legacyRoot!, id) : join(this.root, id);
  }

  /** A legacy folder is removed where it is (the trash may be on another filesystem), and the legacy folder once empty. */
  private removeLegacy(id: string): void {
    rmSync(this.dir(id), { recursive: true, force: true });
    this.legacyIds.delete(id);
    if (this.legacyIds.size === 0) rmSync(this.legacyRoot!, { recursive: true, force: true });
  }

  /** A new sandbox's files, made off the event loop's thread (under a lab's load, a new file costs it milliseconds). */
  async write(id: string, hosts: string, resolv: string): Promise<void> {
    await mkdir(this.dir(id), { recursive: true, mode: 0o755 });
    await Promise.all([writeFile(join(this.dir(id), 'hosts'), hosts), writeFile(join(this.dir(id), 'resolv.conf'), resolv)]);
    this.written.set(id, { hosts, resolv });
  }

  writeHosts(id: string, hosts: string): void {
    this.rewrite(id, 'hosts', hosts);
  }

  writeResolv(id: string, resolv: string): void {
    this.rewrite(id, 'resolv', resolv);
  }

  /** One file, unless it holds the text already. */
  private rewrite(id: string, file: 'hosts' | 'resolv', text: string): void {
    const last = this.written.get(id);
    if (last?.[file] === text) return;
    // Unknown until written: a write that fails halfway leaves a file that the next write must not take as current.
    this.written.set(id, { ...last, [file]: undefined });
    rewriteInPlace(join(this.dir(id), file === 'hosts' ? 'hosts' : 'resolv.conf'), text);
    this.written.set(id, { ...this.written.get(id), [file]: text });
  }

  remove(id: string): void {
    this.written.delete(id);
    if (this.legacyIds.has(id)) return this.removeLegacy(id);
    rmSync(this.dir(id), { recursive: true, force: true });
  }

  /**
   * Removes the folders of many sandboxes at once, each in a few system calls: a sandbox's folder holds two small
   * files and lives on the exec root, a tmpfs by default (a thousand take 60-90 ms on a tmpfs, against 150-190 ms
   * for Node's recursive removal in place). Through libuv's threads it cost the event loop a callback per file and
   * per check: half a second for a thousand.
   */
  retire(ids: readonly string[]): void {
    for (const id of ids) {
      this.written.delete(id);
      if (this.legacyIds.has(id)) this.removeLegacy(id);
      else removeFlatFolder(this.dir(id));
    }
  }
}

/** A folder of files (no subfolders expected; one found is removed whole), gone already counts as removed. */
function removeFlatFolder(dir: string): void {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  for (const name of entries) rmSync(join(dir, name), { recursive: true, force: true });
  rmdirSync(dir);
}
