/** A tsnet daemon for a bench, in the bench's throwaway namespace, and the CLI against it. */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { isIsolated } from '../src/lab/isolation.js';

const execFileAsync = promisify(execFile);
export const CLI = fileURLToPath(new URL('../src/cli/tsnet.cjs', import.meta.url));

/** Milliseconds one run of `node ARGS` takes, from its spawn to its exit (its output discarded). */
export function nodeRunMs(args: readonly string[]): number {
  const t0 = process.hrtime.bigint();
  execFileSync(process.execPath, args, { stdio: 'ignore' });
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

export interface BenchDaemon {
  readonly child: ChildProcess;
  readonly socket: string;
  /** Its folder of what a reboot wipes (namespace pins, sandboxes' files). */
  readonly execRoot: string;
  /** Everything it printed (its JSON log), for whoever reads a failure. */
  output(): string;
  /** `tsnet ARGS` against it: its stdout, trimmed; rejects when the command fails. */
  cli(...args: string[]): Promise<string>;
  /** SIGTERM, then the exit. */
  stop(): Promise<void>;
}

/**
 * Starts `tsnet daemon` with its state in STATE/tsnet, its socket STATE/tsnet.sock and its exec root on the bench's
 * /run (a tmpfs, as the daemon's default), plus extra flags.
 * TSNET_BENCH_DAEMON_NODE_ARGS gives node options for the daemon alone (say, --cpu-prof --cpu-prof-dir=DIR).
 */
export async function startBenchDaemon(state: string, extra: readonly string[] = [], netnsPath?: string): Promise<BenchDaemon> {
  const socket = join(state, 'tsnet.sock');
  const nodeArgs = (process.env.TSNET_BENCH_DAEMON_NODE_ARGS ?? '').split(' ').filter(Boolean);
  // What a reboot wipes goes on a tmpfs, as the daemon's default /run/tsnet: in a bench, the throwaway namespace's /run.
  const execRoot = isIsolated() ? mkdtempSync('/run/tsnet-bench-') : join(state, 'run');
  const command = [process.execPath, ...nodeArgs, CLI, 'daemon', '--root', join(state, 'tsnet'), '--socket', socket, '--exec-root', execRoot, ...extra];
  // In a namespace of the bench's own when given one (a host of a cluster), else in the bench's.
  const [file, ...args] = netnsPath ? ['nsenter', `--net=${netnsPath}`, '--', ...command] : command;
  const child = spawn(file!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  // A bench that dies of an error no one caught takes its daemon with it ('exit' is emitted even then), before its
  // state folder is removed (see inThrowawayLab).
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.prependOnceListener('exit', killOnExit);
  let out = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('tsnet daemon listening')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`the tsnet daemon exited (${code}): ${out}`)));
  });
  return {
    child,
    socket,
    execRoot,
    output: () => out,
    cli: async (...args) => (await execFileAsync(process.execPath, [CLI, '--host', `unix://${socket}`, ...args])).stdout.trim(),
    stop: async () => {
      process.off('exit', killOnExit);
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
