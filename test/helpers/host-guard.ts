/**
 * vitest global setup: proves that the suite leaves the host's own network as it found it. Before the suite it
 * records `ip -j link`, `ip -j route` and `iptables-save` of the host namespace; after it, it compares, and a
 * difference fails the run. It also removes labs left behind by test processes that were killed.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LAB_PREFIX } from './lab.js';

function run(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return `(${command} unavailable)`;
  }
}

/** What the suite must not change. Counters and timestamps are left out: they move on their own. */
export function hostSnapshot(): string {
  const links = (JSON.parse(run('ip', ['-j', 'link'])) as { ifname: string; flags: string[]; mtu: number; address?: string; master?: string }[])
    .map((l) => `${l.ifname} ${l.flags.join(',')} mtu ${l.mtu} ${l.address ?? ''} ${l.master ?? ''}`)
    .join('\n');
  const routes = run('ip', ['-j', 'route', 'show', 'table', 'all']);
  const rules = run('iptables-save', [])
    .split('\n')
    .filter((line) => !line.startsWith('#'))
    .map((line) => line.replace(/\[\d+:\d+\]/gu, ''))
    .join('\n');
  return `links:\n${links}\nroutes:\n${routes}\nrules:\n${rules}`;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Labs whose process is gone: unmount their namespaces and remove them. */
function removeStaleLabs(): void {
  for (const entry of readdirSync(tmpdir())) {
    const m = new RegExp(`^${LAB_PREFIX}(\\d+)-`, 'u').exec(entry);
    if (!m || alive(Number(m[1]))) continue;
    const dir = join(tmpdir(), entry);
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((line) => line.split(' ')[4] ?? '')
      .filter((point) => point.startsWith(`${dir}/`));
    for (const point of mounts) run('umount', ['-l', point]);
    if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
  }
}

export default function setup(): () => void {
  if (process.getuid?.() !== 0) return () => undefined;
  removeStaleLabs();
  const before = hostSnapshot();
  return () => {
    const after = hostSnapshot();
    if (after !== before) {
      throw new Error(`the test suite changed the host's own network namespace:\n--- before\n${before}\n--- after\n${after}`);
    }
  };
}
