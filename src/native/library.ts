/**
 * The binding to native/netlink.c through koffi. This is the only module that imports koffi. Every native
 * function returns >= 0 or -errno; the wrappers here keep that convention and add nothing else.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import koffi from 'koffi';
import { TsnetError } from '../errors.js';
import { ConcurrencyLimit } from '../lib/concurrency-limit.js';

/** Both src/netlink and dist/src/netlink find the library relative to the package root. */
function libraryPath(): string {
  for (const rel of ['../../native/build/libtsnet_netlink.so', '../../../native/build/libtsnet_netlink.so']) {
    const path = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(path)) return path;
  }
  throw new TsnetError(
    'TSNET_ERR_NATIVE_UNAVAILABLE',
    'native/build/libtsnet_netlink.so is missing: run "npm install" (it compiles native/netlink.c with the C compiler)',
  );
}

type AsyncCallback = (err: unknown, result: number) => void;

export interface NativeNetlink {
  socketOpen(nsPath: string | null, protocol: number, rcvbuf: number): number;
  /** A new fd of the network namespace the socket lives in (SIOCGSKNS), or -errno. */
  socketNetns(fd: number): number;
  send(fd: number, buf: Buffer, len: number): number;
  /** The same on a worker thread: for requests the kernel answers slowly (deletions wait for RCU). */
  sendAsync(fd: number, buf: Buffer, len: number): Promise<number>;
  recv(fd: number, buf: Buffer, len: number, timeoutMs: number): number;
  recvAsync(fd: number, buf: Buffer, len: number, timeoutMs: number): Promise<number>;
  close(fd: number): number;
  /** flock(LOCK_EX | LOCK_NB) on the file (created if missing): the fd, or -errno (-EWOULDBLOCK: held elsewhere). */
  lockFile(path: string): number;
  strerror(errnum: number): string | undefined;
  /** Binds (no listen) a socket in a namespace to addr:port (addr 4 or 16 bytes): the fd, or -errno. */
  portBind(nsPath: string | null, family: number, type: number, protocol: number, addr: Buffer, port: number): number;
  /** The local port of a bound socket, or -errno. */
  portOf(fd: number): number;
  /** A namespace pinned at path, with one sysctl (KEY below /proc/sys, VALUE) set at its birth: 0 or -errno. */
  netnsCreate(path: string, sysctl?: readonly [string, string]): number;
  /** The same on a thread of its own: the caller's thread goes on while the kernel builds the namespace. */
  netnsCreateAsync(path: string, sysctl?: readonly [string, string]): Promise<number>;
  netnsDelete(path: string): number;
  sysctlWrite(nsPath: string | null, key: string, value: string): number;
  sysctlRead(nsPath: string | null, key: string): { result: number; value: string };
  /** bpf(BPF_PROG_LOAD) of encoded instructions: the program's fd, or -errno with the verifier's words. */
  bpfProgLoad(progType: number, insns: Buffer, license: string): { result: number; log: string };
}

/**
 * Calls on koffi's threads at once, at most: koffi throws on a call beyond its queue (max_async_calls, 256), and
 * hundreds of sandboxes asked for at once (concurrent `run`s) would reach it. The others wait their turn here.
 */
const ASYNC_CALLS = 64;

/** A koffi function called on koffi's thread, through the gate: its result as a promise. */
function onThread(gate: ConcurrencyLimit, fn: koffi.KoffiFunction, ...args: unknown[]): Promise<number> {
  return gate.run(
    () =>
      new Promise((resolve, reject) => {
        const cb: AsyncCallback = (err, result) => (err ? reject(err) : resolve(result));
        fn.async(...args, cb);
      }),
  );
}

// The one module-level state tsnet keeps: the loaded library, which the process can load only once anyway.
// eslint-disable-next-line no-restricted-syntax
let loaded: NativeNetlink | undefined;

/** Loads the library on first use, so that pure modules (the codec) work without it. */
export function native(): NativeNetlink {
  if (loaded) return loaded;
  const lib = koffi.load(libraryPath());
  const socketOpen = lib.func('int tsnl_socket_open(const char *ns_path, int protocol, int rcvbuf)');
  const socketNetns = lib.func('int tsnl_socket_netns(int fd)');
  const send = lib.func('int tsnl_send(int fd, const void *buf, int len)');
  const recv = lib.func('int tsnl_recv(int fd, void *buf, int len, int timeout_ms)');
  const close = lib.func('int tsnl_close(int fd)');
  const lockFile = lib.func('int tsnl_lock_file(const char *path)');
  const strerror = lib.func('int tsnl_strerror(int errnum, void *buf, int len)');
  const netnsCreate = lib.func('int tsnl_netns_create(const char *path, const char *sysctl_key, const char *sysctl_value)');
  const netnsDelete = lib.func('int tsnl_netns_delete(const char *path)');
  const sysctlWrite = lib.func('int tsnl_sysctl_write(const char *ns_path, const char *key, const char *value)');
  const sysctlRead = lib.func('int tsnl_sysctl_read(const char *ns_path, const char *key, void *buf, int len)');
  const portBind = lib.func('int tsnl_port_bind(const char *ns_path, int family, int type, int protocol, const void *addr, int port)');
  const portOf = lib.func('int tsnl_port_of(int fd)');
  const bpfProgLoad = lib.func('int tsnl_bpf_prog_load(int prog_type, const void *insns, int insn_cnt, const char *license, void *log, int log_size)');
  const text = Buffer.alloc(4096);
  const gate = new ConcurrencyLimit(ASYNC_CALLS);
  loaded = {
    socketOpen: (nsPath, protocol, rcvbuf) => socketOpen(nsPath, protocol, rcvbuf) as number,
    socketNetns: (fd) => socketNetns(fd) as number,
    send: (fd, buf, len) => send(fd, buf, len) as number,
    sendAsync: (fd, buf, len) => onThread(gate, send, fd, buf, len),
    recv: (fd, buf, len, timeoutMs) => recv(fd, buf, len, timeoutMs) as number,
    recvAsync: (fd, buf, len, timeoutMs) => onThread(gate, recv, fd, buf, len, timeoutMs),
    close: (fd) => close(fd) as number,
    lockFile: (path) => lockFile(path) as number,
    strerror: (errnum) => {
      if ((strerror(errnum, text, text.length) as number) < 0) return undefined;
      return text.toString('utf8', 0, text.indexOf(0));
    },
    portBind: (nsPath, family, type, protocol, addr, port) => portBind(nsPath, family, type, protocol, addr, port) as number,
    portOf: (fd) => portOf(fd) as number,
    bpfProgLoad: (progType, insns, license) => {
      const log = Buffer.alloc(16384);
      const result = bpfProgLoad(progType, insns, insns.length / 8, license, log, log.length) as number;
      return { result, log: log.toString('utf8', 0, Math.max(0, log.indexOf(0))).trim() };
    },
    netnsCreate: (path, sysctl) => netnsCreate(path, sysctl?.[0] ?? null, sysctl?.[1] ?? null) as number,
    netnsCreateAsync: (path, sysctl) => onThread(gate, netnsCreate, path, sysctl?.[0] ?? null, sysctl?.[1] ?? null),
    netnsDelete: (path) => netnsDelete(path) as number,
    sysctlWrite: (nsPath, key, value) => sysctlWrite(nsPath, key, value) as number,
    sysctlRead: (nsPath, key) => {
      const result = sysctlRead(nsPath, key, text, text.length) as number;
      return { result, value: result > 0 ? text.toString('utf8', 0, result) : '' };
    },
  };
  return loaded;
}
