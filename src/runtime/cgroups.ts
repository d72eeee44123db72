/**
 * Resource limits through cgroups: cgroup v2 where it is mounted at /sys/fs/cgroup with the memory and pids
 * controllers, else the v1 memory and pids hierarchies. Each container gets a group "tsnet/<id>" in each (v1's
 * devices: "tsnet/devices-HASH/<id>", below the group of its rules); the launcher moves the container's first
 * process into them before exec. A limit that cannot be applied is an error
 * that says why, never silently dropped.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { mkdir, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseByteSize } from '../lib/sizes.js';
import { InvalidArgumentError, TsnetError } from '../errors.js';

export interface Limits {
  /** Bytes. */
  readonly memory?: number;
  readonly pids?: number;
  /** --cpus: CPUs' worth of time per period (0.5: half of one). */
  readonly cpus?: number;
  /** --cpu-shares: the relative weight against other groups (Docker's default 1024). */
  readonly cpuShares?: number;
}

/** The CFS period --cpus is measured in (Docker's). */
const CPU_PERIOD_US = 100_000;

const cannotWrite = (dir: string, file: string, err: unknown): TsnetError =>
  new TsnetError('TSNET_ERR_INTERNAL', `cgroup ${dir}: cannot write ${file}: ${(err as Error).message}`);

function write(dir: string, file: string, value: string): void {
  try {
    writeFileSync(join(dir, file), value);
  } catch (err) {
    throw cannotWrite(dir, file, err);
  }
}

/** The same off the event loop's thread. */
function writeAsync(dir: string, file: string, value: string): Promise<void> {
  return writeFile(join(dir, file), value).catch((err: unknown) => {
    throw cannotWrite(dir, file, err);
  });
}

/** "64m", "1g", "512k", "1048576" -> bytes, as Docker's --memory. */
export function parseMemory(text: string): number {
  const bytes = parseByteSize(text);
  if (bytes === undefined) throw new InvalidArgumentError(`invalid memory limit "${text}": use a number with an optional unit b, k, m or g (e.g. 64m)`);
  if (bytes < 6 * 1024 * 1024) throw new InvalidArgumentError(`memory limit "${text}" is too low: the minimum is 6m`);
  return bytes;
}

/** --cpus: a positive number of CPUs, at most the machine's; --cpu-shares: 2 to 262144 (the kernel's bounds). */
export function checkCpus(cpus: number | undefined, shares: number | undefined, online: number): void {
  if (cpus !== undefined && !(cpus > 0 && cpus <= online))
    throw new InvalidArgumentError(`invalid --cpus ${cpus}: it must be above 0 and at most ${online}, the CPUs of this machine`);
  if (shares !== undefined && !(Number.isInteger(shares) && shares >= 2 && shares <= 262144))
    throw new InvalidArgumentError(`invalid --cpu-shares ${shares}: use a whole number from 2 to 262144`);
}

export function checkPids(n: number): number {
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`invalid pids limit ${n}: it must be a whole number of at least 1`);
  return n;
}

type Layout =
  { kind: 'v2'; root: string } | { kind: 'v1'; memory?: string; pids?: string; devices?: string; freezer?: string; cpu?: string } | { kind: 'none' };

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
  const cpu = existsSync(join(base, 'cpu', 'cpu.shares')) ? join(base, 'cpu') : undefined;
  if (memory || pids || devices || freezer || cpu) {
    return {
      kind: 'v1',
      ...(memory ? { memory } : {}),
      ...(pids ? { pids } : {}),
      ...(devices ? { devices } : {}),
      ...(freezer ? { freezer } : {}),
      ...(cpu ? { cpu } : {}),
    };
  }
  return { kind: 'none' };
}

/** A device rule as the kernel lists it: "c 1:3 rwm", the access letters in r, w, m order. */
const deviceRule = (line: string): string => line.trim().replace(/ ([rwm]+)$/u, (_, a: string) => ` ${['r', 'w', 'm'].filter((c) => a.includes(c)).join('')}`);

/** Whether a group's devices.list is exactly these rules (after deny-all). */
export function sameDeviceRules(listed: string, rules: readonly string[]): boolean {
  const have = new Set(
    listed
      .split('\n')
      .filter((l) => l.trim())
      .map(deviceRule),
  );
  const want = new Set(rules.map(deviceRule));
  return have.size === want.size && [...want].every((r) => have.has(r));
}

/** A container's groups: the cgroup.procs files the launcher writes itself into, and how to remove them. */
export interface ContainerCgroups {
  readonly procsFiles: readonly string[];
  readonly dirs: readonly string[];
}

export class Cgroups {
  /** The groups holding each set of device rules, by the rules (see devicesParent). */
  private readonly ruleGroups = new Map<string, string>();

  constructor(readonly layout: Layout = detectCgroups()) {}

  /** Whether device rules can be enforced here (cgroup v1's devices controller). */
  get deviceControl(): boolean {
    return this.layout.kind === 'v1' && !!this.layout.devices;
  }

  /**
   * Creates the container's groups with its limits and device rules ("all", or the lines to allow after denying
   * everything); refuses limits this machine cannot enforce. The kernel's work (a group costs it about 0.3 ms) is
   * done off the event loop's thread, the groups side by side.
   */
  async create(id: string, limits: Limits, deviceRules: readonly string[] | 'all' = 'all'): Promise<ContainerCgroups> {
    const dirs: string[] = [];
    // The container's group below a parent: tsnet's own group of a hierarchy, or one holding device rules.
    const make = async (parent: string): Promise<string> => {
      const dir = join(parent, id);
      await mkdir(dir, { recursive: true });
      dirs.push(dir);
      return dir;
    };
    const made = this.layout.kind === 'v2' ? [this.createV2(this.layout.root, make, limits)] : this.createV1(make, limits, deviceRules);
    const outcomes = await Promise.allSettled(made);
    const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed) {
      this.remove({ procsFiles: [], dirs });
      throw failed.reason;
    }
    return { procsFiles: dirs.map((d) => join(d, 'cgroup.procs')), dirs };
  }

  private async createV2(root: string, make: (parent: string) => Promise<string>, limits: Limits): Promise<void> {
    const cpu = limits.cpus !== undefined || limits.cpuShares !== undefined;
    for (const parent of [root, join(root, 'tsnet')]) {
      mkdirSync(parent, { recursive: true });
      write(parent, 'cgroup.subtree_control', `+memory +pids${cpu ? ' +cpu' : ''}`);
    }
    const dir = await make(join(root, 'tsnet'));
    if (limits.memory !== undefined) await writeAsync(dir, 'memory.max', String(limits.memory));
    if (limits.memory !== undefined && existsSync(join(dir, 'memory.swap.max'))) await writeAsync(dir, 'memory.swap.max', '0');
    if (limits.pids !== undefined) await writeAsync(dir, 'pids.max', String(limits.pids));
    if (limits.cpus !== undefined) await writeAsync(dir, 'cpu.max', `${Math.round(limits.cpus * CPU_PERIOD_US)} ${CPU_PERIOD_US}`);
    // Docker's conversion of shares (2..262144) to cgroup v2's weight (1..10000).
    if (limits.cpuShares !== undefined) await writeAsync(dir, 'cpu.weight', String(1 + Math.floor(((limits.cpuShares - 2) * 9999) / 262142)));
  }

  /** One promise a hierarchy's group (each with its limits), made side by side; refusals thrown before any is made. */
  private createV1(make: (parent: string) => Promise<string>, limits: Limits, deviceRules: readonly string[] | 'all'): Promise<void>[] {
    const l: { memory?: string; pids?: string; devices?: string; freezer?: string; cpu?: string } = this.layout.kind === 'v1' ? this.layout : {};
    const missing = (what: string): TsnetError =>
      new TsnetError('TSNET_ERR_INVALID_ARGUMENT', `the ${what} cannot be applied: no ${what.split(' ')[0]} cgroup controller is mounted on this machine`);
    if ((limits.cpus !== undefined || limits.cpuShares !== undefined) && !l.cpu) throw missing('cpu limits');
    if (limits.memory !== undefined && !l.memory) throw missing('memory limit');
    if (limits.pids !== undefined && !l.pids) throw missing('pids limit');
    const made: Promise<void>[] = [];
    /** A hierarchy's group, then its limits' files in order. */
    const group = (parent: string, files: readonly (readonly [string, string])[] = []): void => {
      made.push(
        make(parent).then(async (dir) => {
          for (const [file, value] of files) if (!file.startsWith('memory.memsw') || existsSync(join(dir, file))) await writeAsync(dir, file, value);
        }),
      );
    };
    if (l.cpu && (limits.cpus !== undefined || limits.cpuShares !== undefined)) {
      group(join(l.cpu, 'tsnet'), [
        ...(limits.cpus !== undefined
          ? ([
              ['cpu.cfs_period_us', String(CPU_PERIOD_US)],
              ['cpu.cfs_quota_us', String(Math.round(limits.cpus * CPU_PERIOD_US))],
            ] as const)
          : []),
        ...(limits.cpuShares !== undefined ? ([['cpu.shares', String(limits.cpuShares)]] as const) : []),
      ]);
    }
    // Without swap accounting (memory.memsw.*), the memory limit alone.
    if (l.memory) {
      const memory = String(limits.memory);
      group(
        join(l.memory, 'tsnet'),
        limits.memory !== undefined
          ? [
              ['memory.limit_in_bytes', memory],
              ['memory.memsw.limit_in_bytes', memory],
            ]
          : [],
      );
    }
    if (l.pids) group(join(l.pids, 'tsnet'), limits.pids !== undefined ? [['pids.max', String(limits.pids)]] : []);
    if (l.freezer) group(join(l.freezer, 'tsnet'));
    if (l.devices && deviceRules !== 'all') group(this.devicesParent(l.devices, deviceRules));
    return made;
  }

  /**
   * The group that holds a set of device rules once (tsnet/devices-HASH): a group made below it starts with its
   * rules (cgroup v1 copies them at creation, and a child can never allow more than its parent), so a container's
   * group is one mkdir instead of a write per rule. Made at the first container with those rules.
   */
  private devicesParent(root: string, rules: readonly string[]): string {
    const key = rules.join('\n');
    let dir = this.ruleGroups.get(key);
    if (dir) return dir;
    dir = join(root, 'tsnet', `devices-${createHash('sha256').update(key).digest('hex').slice(0, 16)}`);
    mkdirSync(dir, { recursive: true });
    // Made by an earlier run, it holds these rules already; else (new, or made by a run that died before its rules
    // were in, so nothing is below it yet) they are written now, before any group is made below it.
    if (!sameDeviceRules(readFileSync(join(dir, 'devices.list'), 'utf8'), rules)) {
      if (readdirSync(dir, { withFileTypes: true }).some((e) => e.isDirectory()))
        throw new TsnetError('TSNET_ERR_INTERNAL', `cgroup ${dir}: holds other device rules than tsnet put there, and groups below it`);
      write(dir, 'devices.deny', 'a');
      for (const rule of rules) write(dir, 'devices.allow', rule);
    }
    this.ruleGroups.set(key, dir);
    return dir;
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
    // The common case (the container ended, its groups are empty) on libuv's threads: the kernel's removal of a
    // group takes about 1 ms here, which many removals at once would spend in turn on the daemon's thread.
    const left = await Promise.all(groups.dirs.map(async (dir) => ((await removedEmptyAsync(dir).catch(() => false)) ? [] : [dir])));
    if (left.flat().length === 0) return;
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
      // The common case first, in one call: the container has ended and its group is empty, or gone already.
      if (removedEmpty(dir)) continue;
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

/** Whether rmdir removed the group or found it gone; false while it still holds processes (EBUSY). */
async function removedEmptyAsync(dir: string): Promise<boolean> {
  try {
    await rmdir(dir);
    return true;
  } catch (err) {
    return removalVerdict(err);
  }
}

function removedEmpty(dir: string): boolean {
  try {
    rmdirSync(dir);
    return true;
  } catch (err) {
    return removalVerdict(err);
  }
}

/** A failed rmdir of a group: gone already counts as removed, still in use (EBUSY) as not yet; anything else throws. */
function removalVerdict(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return true;
  if (code === 'EBUSY') return false;
  throw err;
}
