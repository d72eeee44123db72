/**
 * Commands run in a running container by `tsnet-launcher exec`: collected whole (labs, checks), or relayed as frames
 * on the launcher's stdin and stdout (`tsnet exec`, with -i and -t), which the daemon passes to the client as they are.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { closeSync, openSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { ExecResult } from './types.js';

/** Runs the launcher and collects what the command wrote. */
export function execCollected(launcher: string, args: readonly string[]): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(launcher, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ exitCode: code ?? (signal ? 128 : 1), stdout, stderr }));
  });
}

/** Runs the launcher in the background with its output discarded (exec -d); resolves once it has started. */
export function execDetached(launcher: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(launcher, args, { stdio: 'ignore', detached: true });
    child.once('error', reject);
    child.once('spawn', () => {
      child.unref();
      resolve();
    });
  });
}

/** A launcher whose stdin takes frames for the command and whose stdout gives its frames, ending with its status. */
export type RelayedExec = ChildProcessByStdio<Writable, Readable, null>;

export function execRelayed(launcher: string, args: readonly string[]): RelayedExec {
  return spawn(launcher, args, { stdio: ['pipe', 'pipe', 'ignore'] });
}

/** sockaddr_un holds 107 bytes of path: a longer one is reached through an open descriptor of its folder. */
const MAX_SOCKET_PATH = 107;

/** Connects to a unix socket, whatever the length of its path. */
export function connectUnix(path: string): Promise<Socket> {
  const dirFd = Buffer.byteLength(path) > MAX_SOCKET_PATH ? openSync(dirname(path), 'r') : undefined;
  const target = dirFd === undefined ? path : `/proc/self/fd/${dirFd}/${basename(path)}`;
  return new Promise<Socket>((resolve, reject) => {
    const s = connect(target);
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  }).finally(() => {
    if (dirFd !== undefined) closeSync(dirFd);
  });
}
