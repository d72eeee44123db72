/**
 * Network namespaces as values. A NetNs is a path to a namespace file: a persistent namespace pinned by a bind
 * mount in a run directory (like `ip netns add`), a process's /proc/PID/ns/net, or the caller's own.
 * The "host" of tsnet is always such a value, passed down explicitly, so that the whole system can run inside a
 * throwaway namespace.
 */
import { closeSync, existsSync, mkdirSync, openSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError, TsnetError } from '../errors.js';
import { Errno } from '../native/errno.js';
import { KernelError } from '../native/kernel-error.js';
import { native } from '../native/library.js';

export const DEFAULT_NETNS_DIR = '/run/tsnet/netns';

export class NetnsError extends KernelError {
  constructor(op: string, object: string, errno: number) {
    super('TSNET_ERR_NETNS', op, object, errno);
  }
}

export class NetNs {
  /** @param path the namespace file; null means the calling process's own namespace. */
  private constructor(
    readonly path: string | null,
    readonly name: string,
  ) {}

  /** The namespace the process runs in. */
  static current(): NetNs {
    return new NetNs(null, 'current');
  }

  /** Any namespace file: a bind mount, /proc/PID/ns/net, /var/run/netns/NAME. */
  static fromPath(path: string, name = path): NetNs {
    if (!existsSync(path)) throw new TsnetError('TSNET_ERR_NOT_FOUND', `network namespace ${JSON.stringify(path)} does not exist`);
    return new NetNs(path, name);
  }

  /** The network namespace of a running process. */
  static ofPid(pid: number): NetNs {
    if (!Number.isInteger(pid) || pid <= 0) throw new InvalidArgumentError(`process id ${pid} is not a positive whole number`);
    const path = `/proc/${pid}/ns/net`;
    if (!existsSync(path)) throw new TsnetError('TSNET_ERR_NOT_FOUND', `process ${pid} does not exist, so neither does its network namespace`);
    return new NetNs(path, `pid ${pid}`);
  }

  /** The path native calls take: null for the current namespace. */
  get nativePath(): string | null {
    return this.path;
  }

  /** Opens a file descriptor on the namespace (for IFLA_NET_NS_FD); the caller closes it. */
  openFd(): number {
    try {
      return openSync(this.path ?? '/proc/self/ns/net', 'r'); // libuv opens with O_CLOEXEC;
    } catch (err) {
      const errno = -((err as NodeJS.ErrnoException).errno ?? -2);
      throw new NetnsError('open', this.name, errno);
    }
  }

  /** Runs fn with an open descriptor of this namespace and closes it afterwards. */
  async withFd<T>(fn: (fd: number) => Promise<T>): Promise<T> {
    const fd = this.openFd();
    try {
      return await fn(fd);
    } finally {
      closeSync(fd);
    }
  }

  /** Writes a sysctl inside this namespace, e.g. ("net/ipv4/ip_forward", "1"). */
  sysctlWrite(key: string, value: string): void {
    checkSysctlKey(key);
    const r = native().sysctlWrite(this.nativePath, key, value);
    if (r < 0) throw new NetnsError('sysctl write', `${this.name}: ${key}`, -r);
  }

  /** Reads a sysctl inside this namespace, trimmed. */
  sysctlRead(key: string): string {
    checkSysctlKey(key);
    const { result, value } = native().sysctlRead(this.nativePath, key);
    if (result < 0) throw new NetnsError('sysctl read', `${this.name}: ${key}`, -result);
    return value.trim();
  }
}

function checkSysctlKey(key: string): void {
  if (!/^[A-Za-z0-9_.\-/]+$/u.test(key) || key.split('/').includes('..')) {
    throw new InvalidArgumentError(`sysctl key "${key}" is not a path below /proc/sys`);
  }
}

/** Names of persistent namespaces: what a file name may be, short enough for logs. */
export function checkNetnsName(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/u.test(name)) {
    throw new InvalidArgumentError(`network namespace name "${name}" must be 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit`);
  }
  return name;
}

/** A folder of persistent namespaces (default /run/tsnet/netns): create, delete, list, open. */
export class NetnsDirectory {
  constructor(readonly dir: string = DEFAULT_NETNS_DIR) {}

  pathOf(name: string): string {
    return join(this.dir, checkNetnsName(name));
  }

  /** Equivalent to: `ip netns add NAME` (in this folder). */
  create(name: string): NetNs {
    const path = this.pathOf(name);
    mkdirSync(this.dir, { recursive: true, mode: 0o755 });
    const r = native().netnsCreate(path);
    if (r < 0) throw new NetnsError('netns add', name, -r);
    return NetNs.fromPath(path, name);
  }

  /**
   * The same off this thread (the kernel's part of a new namespace is most of its cost), with one sysctl (KEY below
   * /proc/sys, VALUE) set in it before anything can use it.
   */
  async createAsync(name: string, sysctl?: readonly [string, string]): Promise<NetNs> {
    const path = this.pathOf(name);
    mkdirSync(this.dir, { recursive: true, mode: 0o755 });
    const r = await native().netnsCreateAsync(path, sysctl);
    if (r < 0) throw new NetnsError('netns add', name, -r);
    return NetNs.fromPath(path, name);
  }

  /** Equivalent to: `ip netns del NAME`. With ignoreMissing, a namespace already gone counts as deleted. */
  delete(name: string, options: { ignoreMissing?: boolean } = {}): void {
    const r = native().netnsDelete(this.pathOf(name));
    if (r < 0 && !(options.ignoreMissing && r === -Errno.ENOENT)) throw new NetnsError('netns del', name, -r);
  }

  open(name: string): NetNs {
    const path = this.pathOf(name);
    if (!existsSync(path)) throw new TsnetError('TSNET_ERR_NOT_FOUND', `network namespace "${name}" does not exist in ${this.dir}`);
    return NetNs.fromPath(path, name);
  }

  /** Equivalent to: `ip netns list` (in this folder). */
  list(): string[] {
    if (!existsSync(this.dir)) return [];
    return readdirSync(this.dir).sort();
  }
}
