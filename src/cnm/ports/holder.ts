/**
 * Who holds a host port, for the message that refuses publishing it: the process whose socket is bound to it in
 * tsnet's host namespace, found through procfs as `ss -p` finds it. Read only when a bind has already failed.
 */
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import type { NetNs } from '../../netns/netns.js';
import type { PortProtocol } from '../types.js';

const read = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

const pids = (): string[] => readdirSync('/proc').filter((d) => /^\d+$/u.test(d));

/** A process in ns, whose /proc/PID/net shows ns's sockets. */
function procNetOf(ns: NetNs): string {
  if (ns.path === null) return '/proc/self/net';
  const target = statSync(ns.path);
  for (const pid of pids()) {
    try {
      const st = statSync(`/proc/${pid}/ns/net`);
      if (st.ino === target.ino && st.dev === target.dev) return `/proc/${pid}/net`;
    } catch {
      // The process ended meanwhile.
    }
  }
  return '';
}

/** Inodes of the sockets bound to port in the procfs tables of proto (both families). */
function socketInodes(procNet: string, proto: PortProtocol, port: number): Set<string> {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set<string>();
  for (const table of [proto, `${proto}6`]) {
    for (const line of (read(`${procNet}/${table}`) ?? '').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/u);
      if (f[1]?.endsWith(`:${hex}`) && f[9] && f[9] !== '0') inodes.add(f[9]);
    }
  }
  return inodes;
}

/** "process 1234 (nc)" for the holder of proto/port in ns, or undefined when it cannot be told. */
export function portHolder(ns: NetNs, proto: PortProtocol, port: number): string | undefined {
  const procNet = procNetOf(ns);
  if (!procNet) return undefined;
  const inodes = socketInodes(procNet, proto, port);
  if (inodes.size === 0) return undefined;
  for (const pid of pids()) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const m = /^socket:\[(\d+)\]$/u.exec(target);
      if (m && inodes.has(m[1]!)) return `process ${pid} (${(read(`/proc/${pid}/comm`) ?? '?').trim()})`;
    }
  }
  return 'a socket of no process tsnet can see';
}
