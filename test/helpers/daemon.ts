/**
 * End-to-end helpers: the real daemon (dist/src/cli/tsnet.cjs daemon) started inside a lab namespace, and the real
 * CLI run against its socket.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { busyboxRootfsTar } from '../../src/runtime/busybox.js';
import { Lab } from './lab.js';
import type { NetNs } from '../../src/netns/netns.js';

export const CLI = fileURLToPath(new URL('../../dist/src/cli/tsnet.cjs', import.meta.url));

export interface DaemonHandle {
  readonly process: ChildProcess;
  readonly socket: string;
  readonly root: string;
  /** Everything it wrote on stdout and stderr (its JSON log). */
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function startDaemon(l: Lab, name = 'daemon', extraArgs: readonly string[] = [], ns: NetNs = l.host): Promise<DaemonHandle> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: the suite runs after "npm run build" (npm test does it)`);
  const root = join(l.dir, `${name}-root`);
  const socket = join(l.dir, `${name}.sock`);
  const child = spawn(
    'nsenter',
    [`--net=${ns.path}`, '--', process.execPath, CLI, 'daemon', '--root', root, '--socket', socket, '--netns-dir', join(l.dir, `${name}-netns`), ...extraArgs],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  for (let i = 0; i < 300 && !out.includes('tsnet daemon listening'); i++) {
    if (child.exitCode !== null) throw new Error(`the daemon exited (${child.exitCode}): ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!out.includes('tsnet daemon listening')) throw new Error(`the daemon did not start: ${out}`);
  return {
    process: child,
    socket,
    root,
    output: () => out,
    stop: (signal = 'SIGTERM') =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
        child.once('exit', (code) => resolve(code));
        child.kill(signal);
      }),
  };
}

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `tsnet ARGS` against the daemon. */
export function tsnet(d: { socket: string }, ...args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, '--host', `unix://${d.socket}`, ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Imports the busybox image into a daemon as "busybox". */
export async function importBusybox(d: { socket: string }, tarball: string): Promise<void> {
  const r = await tsnet(d, 'image', 'import', tarball, 'busybox');
  if (r.code !== 0) throw new Error(`importing busybox failed: ${r.stderr}`);
}

/** After a test: its containers removed, its daemon stopped, its lab destroyed, whatever failed on the way. */
export async function tearDown(d: DaemonHandle | undefined, lab: Lab): Promise<void> {
  try {
    if (d) {
      const ps = await tsnet(d, 'ps', '-aq');
      for (const id of ps.stdout.split('\n').filter(Boolean)) await tsnet(d, 'rm', '-f', id);
      await d.stop();
    }
  } finally {
    lab.destroy();
  }
}

/**
 * The busybox root filesystem tarball, made once for the test file (an immutable fixture the tests import as their
 * image) and removed after it; the returned function gives its path inside a test.
 */
export function useBusyboxTarball(): () => string {
  const state: { dir?: string; tarball?: string } = {};
  beforeAll(async () => {
    state.dir = mkdtempSync(join(tmpdir(), 'tsnet-e2e-fixtures-'));
    state.tarball = await busyboxRootfsTar(state.dir);
  });
  afterAll(() => {
    if (state.dir) rmSync(state.dir, { recursive: true, force: true });
  });
  return () => {
    if (!state.tarball) throw new Error('busybox tarball: used outside of a test');
    return state.tarball;
  };
}

/** A test file's lab and daemon, with the busybox image imported; the daemon may be replaced (a restart). */
export interface BusyboxDaemon {
  lab: Lab;
  d: DaemonHandle;
}

/**
 * One lab and one daemon for the whole test file (made before its tests, torn down after them, also when they
 * fail), with the busybox rootfs imported as "busybox".
 */
export function useBusyboxDaemon(extraArgs: readonly string[] = []): BusyboxDaemon {
  const rootfs = useBusyboxTarball();
  const env = {} as BusyboxDaemon;
  beforeAll(async () => {
    env.lab = Lab.create();
    try {
      env.d = await startDaemon(env.lab, 'daemon', extraArgs);
      await importBusybox(env.d, rootfs());
    } catch (err) {
      await tearDown(env.d, env.lab);
      throw err;
    }
  });
  afterAll(() => tearDown(env.d, env.lab));
  return env;
}

/**
 * Each test's own lab and daemon (see useDaemonPerTest); the busybox image is imported when a test asks. A test that
 * starts its daemon again sets d here, so that the one running at its end is the one torn down.
 */
export interface DaemonPerTest extends BusyboxDaemon {
  /** The busybox rootfs tarball (made once for the file). */
  rootfs(): string;
  withBusybox(): Promise<void>;
}

/**
 * A lab and a daemon for each test of the file (made before it, torn down after it, also when it fails); the busybox
 * rootfs is made once for the file and imported as "busybox" by the tests that call withBusybox().
 */
export function useDaemonPerTest(): DaemonPerTest {
  const rootfs = useBusyboxTarball();
  const env = { rootfs, withBusybox: () => importBusybox(env.d, rootfs()) } as DaemonPerTest;
  beforeEach(async () => {
    env.lab = Lab.create();
    env.d = await startDaemon(env.lab).catch((err: unknown) => {
      env.lab.destroy();
      throw err;
    });
  });
  afterEach(() => tearDown(env.d, env.lab));
  return env;
}
