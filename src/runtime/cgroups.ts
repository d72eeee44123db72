/**
 * Resource limits through cgroups: cgroup v2 where it is mounted at /sys/fs/cgroup with the memory and pids
 * controllers, else the v1 memory and pids hierarchies. Each container gets a group "tsnet/<id>" in each; the
 * launcher moves the container's first process into them before exec. A limit that cannot be applied is an error
 * that says why, never silently dropped.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError, TsnetError } from '../errors.js';

export interface Limits {
  /** Bytes. */
  readonly memory?: number;
  readonly pids?: number;
}

/** "64m", "1g", "512k", "1048576" -> bytes, as Docker's --memory. */
export function parseMemory(text: string): number {
  const m = /^(\d+)([bkmg]?)$/iu.exec(text.trim());
  if (!m) throw new InvalidArgumentError(`invalid memory limit "${text}": use a number with an optional unit b, k, m or g (e.g. 64m)`);
  const units: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };
  const bytes = Number(m[1]) * units[m[2]!.toLowerCase()]!;
  if (bytes < 6 * 1024 * 1024) throw new InvalidArgumentError(`memory limit "${text}" is too low: the minimum is 6m`);
  return bytes;
}

export function checkPids(n: number): number {
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`invalid pids limit ${n}: it must be a whole number of at least 1`);
  return n;
}

type Layout = { kind: 'v2'; root: string } | { kind: 'v1'; memory?: string; pids?: string; devices?: string; freezer?: string } | { kind: 'none' };

export function detectCgroups(base = '/sys/fs/cgroup'): Layout {
  if (existsSync(join(base, 'cgroup.controllers'))) {
    const controllers = readFileSync(join(base, 'cgroup.controllers'), 'utf8');
    if (/\bmemory\b/u.test(controllers) && /\bpids\b/u.test(controllers)) return { kind: 'v2', root: base };
  }
  const memory = existsSync(join(base, 'memory', 'memory.limit_in_bytes')) ? join(base, 'memory') : undefined;
  // The root group of the pids hierarchy has no pids.max: its presence is told by cgroup.procs.
  const pids = existsSync(join(base, 'pids', 'cgroup.procs')) ? join(base, 'pids') : undefined;
  const devices = existsSync(join(base, 'devices', 'devices.allow')) ? join(base, 'devices') : undefined;
  const freezer = existsSync(join(base, 'freezer', 'cgroup.procs')) ? join(base, 'freezer') : undefined;
  if (memory || pids || devices || freezer) {
    return { kind: 'v1', ...(memory ? { memory } : {}), ...(pids ? { pids } : {}), ...(devices ? { devices } : {}), ...(freezer ? { freezer } : {}) };
  }
  return { kind: 'none' };
}

/** A container's groups: the cgroup.procs files the launcher writes itself into, and how to remove them. */
export interface ContainerCgroups {
  readonly procsFiles: readonly string[];
  readonly dirs: readonly string[];
}

export class Cgroups {
  constructor(readonly layout: Layout = detectCgroups()) {}

  /** Whether device rules can be enforced here (cgroup v1's devices controller). */
  get deviceControl(): boolean {
    return this.layout.kind === 'v1' && !!this.layout.devices;
  }

  /**
   * Creates the container's groups with its limits and device rules ("all", or the lines to allow after denying
   * everything); refuses limits this machine cannot enforce.
   */
  create(id: string, limits: Limits, deviceRules: readonly string[] | 'all' = 'all'): ContainerCgroups {
    const l = this.layout;
    const dirs: string[] = [];
    const write = (dir: string, file: string, value: string): void => {
      try {
        writeFileSync(join(dir, file), value);
      } catch (err) {
        throw new TsnetError('TSNET_ERR_INTERNAL', `cgroup ${dir}: cannot write ${file}: ${(err as Error).message}`);
      }
    };
    const make = (parent: string): string => {
      const dir = join(parent, 'tsnet', id);
      mkdirSync(dir, { recursive: true });
      dirs.push(dir);
      return dir;
    };
    try {
      if (l.kind === 'v2') {
        for (const parent of [l.root, join(l.root, 'tsnet')]) {
          mkdirSync(parent, { recursive: true });
          write(parent, 'cgroup.subtree_control', '+memory +pids');
        }
        const dir = make(l.root);
        if (limits.memory !== undefined) write(dir, 'memory.max', String(limits.memory));
        if (limits.memory !== undefined && existsSync(join(dir, 'memory.swap.max'))) write(dir, 'memory.swap.max', '0');
        if (limits.pids !== undefined) write(dir, 'pids.max', String(limits.pids));
      } else {
        if (limits.memory !== undefined && !(l.kind === 'v1' && l.memory)) {
          throw new TsnetError('TSNET_ERR_INVALID_ARGUMENT', 'the memory limit cannot be applied: no memory cgroup controller is mounted on this machine');
        }
        if (limits.pids !== undefined && !(l.kind === 'v1' && l.pids)) {
          throw new TsnetError('TSNET_ERR_INVALID_ARGUMENT', 'the pids limit cannot be applied: no pids cgroup controller is mounted on this machine');
        }
        if (l.kind === 'v1' && l.memory) {
          const dir = make(l.memory);
          if (limits.memory !== undefined) {
            write(dir, 'memory.limit_in_bytes', String(limits.memory));
            if (existsSync(join(dir, 'memory.memsw.limit_in_bytes'))) write(dir, 'memory.memsw.limit_in_bytes', String(limits.memory));
          }
        }
        if (l.kind === 'v1' && l.pids) {
          const dir = make(l.pids);
          if (limits.pids !== undefined) write(dir, 'pids.max', String(limits.pids));
        }
        if (l.kind === 'v1' && l.freezer) make(l.freezer);
        if (l.kind === 'v1' && l.devices && deviceRules !== 'all') {
          const dir = make(l.devices);
          write(dir, 'devices.deny', 'a');
          for (const rule of deviceRules) write(dir, 'devices.allow', rule);
        }
      }
    } catch (err) {
      this.remove({ procsFiles: [], dirs });
      throw err;
    }
    return { procsFiles: dirs.map((d) => join(d, 'cgroup.procs')), dirs };
  }

  /**
   * Removes the groups. A process still in one (a container whose start a dying daemon left half done: its launcher
   * waits for a word that never comes) is the container's own and is killed first. Already gone counts as removed.
   */
  remove(groups: ContainerCgroups): void {
    for (let attempt = 0; ; attempt++) {
      try {
        return this.removeOnce(groups);
      } catch (err) {
        // EBUSY right after the last process exits: the kernel is still tearing it down.
        if (attempt >= 50) throw new TsnetError('TSNET_ERR_INTERNAL', `cgroup of ${groups.dirs[0] ?? '?'}: cannot remove it: ${(err as Error).message}`);
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
      }
    }
  }

  /**
   * The same without blocking the daemon while the kernel tears a group down: retried every 2 ms on timers, so that
   * many containers removed at once wait side by side instead of one after another.
   */
  async removeAsync(groups: ContainerCgroups): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        return this.removeOnce(groups);
      } catch (err) {
        if (attempt >= 250) throw new TsnetError('TSNET_ERR_INTERNAL', `cgroup of ${groups.dirs[0] ?? '?'}: cannot remove it: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, 2));
      }
    }
  }

  /** Whether pause can work here: cgroup v2's cgroup.freeze, or v1's freezer controller. */
  get canFreeze(): boolean {
    return this.layout.kind === 'v2' || (this.layout.kind === 'v1' && !!this.layout.freezer);
  }

  /** Freezes or thaws every process of the container (pause/unpause); resolves once the kernel has done it. */
  async freeze(groups: ContainerCgroups, frozen: boolean): Promise<void> {
    for (const dir of groups.dirs) {
      const v2 = join(dir, 'cgroup.freeze');
      const v1 = join(dir, 'freezer.state');
      if (existsSync(v2)) {
        writeFileSync(v2, frozen ? '1' : '0');
        for (let i = 0; i < 500 && frozen && !/^frozen 1$/mu.test(readFileSync(join(dir, 'cgroup.events'), 'utf8')); i++)
          await new Promise((r) => setTimeout(r, 2));
      } else if (existsSync(v1)) {
        writeFileSync(v1, frozen ? 'FROZEN' : 'THAWED');
        for (let i = 0; i < 500 && frozen && readFileSync(v1, 'utf8').trim() !== 'FROZEN'; i++) await new Promise((r) => setTimeout(r, 2));
      }
    }
  }

  /** One attempt: the container's processes killed, its groups removed; throws EBUSY while the kernel is not done. */
  private removeOnce(groups: ContainerCgroups): void {
    for (const dir of groups.dirs) {
      // A frozen process dies of SIGKILL only once thawed.
      if (existsSync(join(dir, 'freezer.state'))) writeFileSync(join(dir, 'freezer.state'), 'THAWED');
      if (existsSync(join(dir, 'cgroup.freeze'))) writeFileSync(join(dir, 'cgroup.freeze'), '0');
      const procs = existsSync(join(dir, 'cgroup.procs')) ? readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean) : [];
      for (const pid of procs) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // gone already
        }
      }
      if (existsSync(dir)) rmdirSync(dir);
    }
  }

  /** The memory controller's verdict: was the group's process killed for exceeding its limit? */
  oomKilled(groups: ContainerCgroups): boolean {
    for (const dir of groups.dirs) {
      for (const [file, re] of [
        ['memory.events', /^oom_kill (\d+)/mu],
        ['memory.oom_control', /^oom_kill (\d+)/mu],
      ] as const) {
        const path = join(dir, file);
        if (existsSync(path) && Number(re.exec(readFileSync(path, 'utf8'))?.[1] ?? 0) > 0) return true;
      }
    }
    return false;
  }
}
