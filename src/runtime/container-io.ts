/**
 * What goes into and out of a container besides its start and end: commands exec'd in it while it runs (collected,
 * in the background, or with their streams relayed as frames), a connection to its own streams (attach), what it
 * wrote (its log), and its files as one archive (export). The runtime owns the containers; this only reads them.
 */
import type { Socket } from 'node:net';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { InvalidArgumentError, TsnetError } from '../errors.js';
import { exportTar } from './commit.js';
import { LogCursor } from './container-log.js';
import { connectUnix, execCollected, execDetached, execRelayed, type RelayedExec } from './exec.js';
import type { ContainerFiles } from './container-files.js';
import { checkCommand, execArgs } from './launcher-args.js';
import type { SeccompProgram } from './security/seccomp-programs.js';
import type { ContainerState, ExecResult, ExecStreamOptions } from './types.js';

/** What of the runtime this needs: its containers, their folders, their seccomp programs and image layers. */
export interface ContainerAccess {
  get(ref: string): ContainerState;
  readonly files: ContainerFiles;
  seccompOf(state: ContainerState): SeccompProgram | null;
  /** The container's image layers, top first. */
  lowerDirs(state: ContainerState): string[];
}

export class ContainerIo {
  constructor(
    private readonly launcher: string,
    private readonly access: ContainerAccess,
  ) {}

  /** The launcher's exec arguments, once the command and its environment are found valid. */
  private execArgsFor(ref: string, command: readonly string[], options: ExecStreamOptions, relay: boolean): string[] {
    const state = this.access.get(ref);
    if (state.status !== 'running' || !state.pid)
      throw new TsnetError('TSNET_ERR_CONFLICT', `container "${state.name}" is ${state.status === 'paused' ? 'paused' : 'not running'}`);
    if (command.length === 0) throw new InvalidArgumentError('no command given to exec');
    checkCommand(command, options.env ?? []);
    return execArgs(state, this.access.seccompOf(state), command, options, relay);
  }

  /** Runs a command inside a running container (all of its namespaces) and collects its output; with detach, in the background. */
  exec(ref: string, command: readonly string[], options: { env?: readonly string[]; cwd?: string; detach?: boolean } = {}): Promise<ExecResult> {
    try {
      const args = this.execArgsFor(ref, command, options, false);
      if (options.detach) return execDetached(this.launcher, args).then(() => ({ exitCode: 0, stdout: '', stderr: '' }));
      return execCollected(this.launcher, args);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Runs a command inside a running container with its streams relayed as frames (see lib/frames.ts). */
  execStream(ref: string, command: readonly string[], options: ExecStreamOptions = {}): RelayedExec {
    return execRelayed(this.launcher, this.execArgsFor(ref, command, options, true));
  }

  /** A connection to the running container's streams, in frames: its output from now on; input if -i. */
  async attach(ref: string): Promise<Socket> {
    const state = this.access.get(ref);
    if (state.status !== 'running') throw new TsnetError('TSNET_ERR_CONFLICT', `container "${state.name}" is not running: cannot attach to it`);
    return firstListening(this.access.files.attachSockets(state.id)).catch((err: NodeJS.ErrnoException) => {
      throw new TsnetError('TSNET_ERR_CONFLICT', `cannot attach to container "${state.name}": ${err.code ?? err.message} (has it just exited?)`);
    });
  }

  /** What the container wrote to stdout and stderr, together. */
  logs(ref: string): string {
    const file = this.access.files.log(this.access.get(ref).id);
    return Buffer.concat(new LogCursor(file).read().map((l) => l.data)).toString();
  }

  /** The container's files flattened (its changes over its image's layers) as a tar stream: docker export. */
  export(ref: string): Readable {
    const state = this.access.get(ref);
    const lowers = [this.access.files.changes(state.id), ...this.access.lowerDirs(state)].join(':');
    return exportTar(this.launcher, lowers, join(this.access.files.dir(state.id), 'export'), state.name);
  }
}

/** A connection to the first of these sockets that listens; else the first one's error. */
async function firstListening(sockets: readonly string[]): Promise<Socket> {
  let first: unknown;
  for (const path of sockets) {
    try {
      return await connectUnix(path);
    } catch (err) {
      first ??= err;
    }
  }
  throw first;
}
