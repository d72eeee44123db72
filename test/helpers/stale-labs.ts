/**
 * vitest global setup: removes labs left behind by test processes that were killed (their namespaces are bind
 * mounts in a temporary folder named after the process). Whether the host was left unchanged is checked around
 * the whole run by scripts/with-host-guard.mjs.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LAB_PREFIX, mountsUnder } from './lab.js';

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

export default function setup(): void {
  if (process.getuid?.() !== 0) return;
  for (const entry of readdirSync(tmpdir())) {
    const m = new RegExp(`^${LAB_PREFIX}(\\d+)-`, 'u').exec(entry);
    if (!m || alive(Number(m[1]))) continue;
    const dir = join(tmpdir(), entry);
    for (const point of mountsUnder(dir)) execFileSync('umount', ['-n', '-l', point]);
    if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
  }
}
