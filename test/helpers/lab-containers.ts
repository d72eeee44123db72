/**
 * Ending what a test's daemons left running: containers outlive their daemon by design, so a test that failed half
 * way (its daemon killed, its teardown timed out) leaves their processes on the host. Each container of the lab's
 * daemons (their folders under the lab) has its processes in tsnet's cgroups by its id: those, and only those, are
 * ended by pid, then their groups removed.
 */
import { existsSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const CGROUPS = '/sys/fs/cgroup';

/** The ids of the containers whose folders are under dir (any daemon root: NAME-root/runtime/containers/ID). */
function containerIds(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((root) => {
    const containers = join(dir, root, 'runtime', 'containers');
    return existsSync(containers) ? readdirSync(containers).filter((id) => /^[0-9a-f]{64}$/u.test(id)) : [];
  });
}

/** Each group of a container: one per v1 controller (its devices group below the one of its rules), or its v2 group. */
function groupsOf(id: string): string[] {
  const controllers = existsSync(join(CGROUPS, 'cgroup.controllers')) ? [''] : readdirSync(CGROUPS);
  const ruleGroups = (c: string): string[] => {
    const tsnet = join(CGROUPS, c, 'tsnet');
    return existsSync(tsnet)
      ? readdirSync(tsnet)
          .filter((d) => d.startsWith('devices-'))
          .map((d) => join(tsnet, d))
      : [];
  };
  return controllers
    .flatMap((c) => [join(CGROUPS, c, 'tsnet', id), ...ruleGroups(c).map((r) => join(r, id))])
    .filter((g) => existsSync(join(g, 'cgroup.procs')));
}

const sleep = (ms: number): void => void Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

export function endLabContainers(dir: string): void {
  for (const id of containerIds(dir)) {
    const groups = groupsOf(id);
    // A frozen process cannot die: thaw it first.
    for (const g of groups) if (existsSync(join(g, 'freezer.state'))) writeFileSync(join(g, 'freezer.state'), 'THAWED');
    const procs = (): number[] => [...new Set(groups.flatMap((g) => readFileSync(join(g, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number)))];
    for (let i = 0; i < 50 && procs().length; i++) {
      for (const pid of procs()) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone meanwhile
        }
      }
      sleep(20);
    }
    for (const g of groups) {
      try {
        rmdirSync(g);
      } catch {
        // the runtime's own teardown may remove it, or a process is still leaving
      }
    }
  }
}
