/**
 * Deletes folders in the background at the machine's idle priority: one `rm -rf` under `nice -n 19` and
 * `ionice -c 3`, so that deleting many folders takes only the CPU and disk time nothing else wants. A recursive
 * deletion in the daemon's own process costs its event loop a step per file, and its thread pool takes the cores the
 * daemon needs (two on the machines tsnet is measured on). Without those programs, or where they fail, the deletion
 * runs in this process.
 * A failure is left alone: what remains is deleted again at the next start.
 */
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';

/** Starts the deletion; resolves when it has ended (it never rejects: what is left is deleted at the next start). */
export function deleteWhenIdle(paths: readonly string[]): Promise<void> {
  if (paths.length === 0) return Promise.resolve();
  const inProcess = (): Promise<void> => Promise.all(paths.map((p) => rm(p, { recursive: true, force: true }).catch(() => undefined))).then(() => undefined);
  return new Promise<void>((resolve) => {
    // -t: ionice runs rm even where the idle class cannot be set.
    const child = spawn('ionice', ['-t', '-c', '3', 'nice', '-n', '19', 'rm', '-rf', '--', ...paths], { stdio: 'ignore' });
    child.once('error', () => void inProcess().then(resolve));
    // A program that ran but failed (nice or rm missing, a file rm could not remove): this process tries once more.
    child.once('exit', (code) => {
      if (code === 0) resolve();
      else void inProcess().then(resolve);
    });
    child.unref();
  });
}
