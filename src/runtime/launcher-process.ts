/**
 * The launcher program (native/launcher.c) as the runtime uses it: where it is, its tool modes (whiteouts, opaque
 * marks) run to their end, what a failed start's report means, and how a process's start time is read to tell a
 * container's monitor from a process that got its PID later.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TsnetError, type ErrorCode } from '../errors.js';

export function launcherPath(): string {
  for (const rel of ['../../native/build/tsnet-launcher', '../../../native/build/tsnet-launcher']) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  throw new TsnetError('TSNET_ERR_NATIVE_UNAVAILABLE', 'native/build/tsnet-launcher is missing: run "npm install" (it compiles native/launcher.c)');
}

/** The code of a failed start: the command not found (Docker's exit 127), not executable (126), or else. */
export function startFailureCode(why: string): ErrorCode {
  if (/^exec: ENOENT\b/u.test(why)) return 'TSNET_ERR_COMMAND_NOT_FOUND';
  if (/^exec: (EACCES|EPERM|ENOEXEC)\b/u.test(why)) return 'TSNET_ERR_COMMAND_NOT_EXECUTABLE';
  return 'TSNET_ERR_INVALID_ARGUMENT';
}

/** Runs a tool mode of the launcher (whiteouts); rejects with what it said. */
export function runLauncher(launcher: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(launcher, args, (err, _out, stderr) => (err ? reject(new TsnetError('TSNET_ERR_INTERNAL', stderr.trim() || err.message)) : resolve()));
  });
}

/** Field 22 of /proc/PID/stat, or undefined when there is no such process. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}
