/** `tsnet attach/exec/logs`, and the attached part of `run`: a container's streams, as Docker's CLI shows them. */
import type { ContainerView, ExecBody, LogsQuery, WaitResult } from '../../api/containers.js';
import { ApiError, ClientError, type TsnetClient } from '../../client/client.js';
import { FrameDecoder, FrameType } from '../../lib/frames.js';
import { collect, type Cli } from '../context.js';
import { DEFAULT_DETACH_KEYS, parseDetachKeys } from '../detach-keys.js';
import { CliFailure } from '../errors.js';
import { runSession, type SessionEnd } from '../stream-session.js';

export const containerPath = (ref: string, tail = ''): string => `/v1/containers/${encodeURIComponent(ref)}${tail}`;

export interface AttachFlags {
  readonly detachKeys: string;
  readonly sigProxy: boolean;
}

function detachKeys(spec: string): Buffer {
  try {
    return parseDetachKeys(spec);
  } catch (err) {
    throw new ClientError('TSNET_ERR_INVALID_ARGUMENT', `--detach-keys: ${(err as Error).message}`);
  }
}

/** The container's end, when the connection did not carry it: asked of the daemon. */
async function statusOf(c: TsnetClient, view: ContainerView, end: SessionEnd): Promise<number> {
  const exitCode = end.exitCode ?? (await c.call<WaitResult>('POST', containerPath(view.id, '/wait'))).exitCode;
  if (exitCode === null) throw new CliFailure(new ClientError('TSNET_ERR_INTERNAL', `the exit status of container ${view.name} is unknown`), 125);
  return exitCode;
}

/**
 * Attaches to a running container until it ends or the detach keys are typed; sets this process's exit status to
 * the container's (a --rm container is waited for until it is removed, as docker run does).
 */
export async function attachTo(cli: Cli, view: ContainerView, flags: AttachFlags & { stdin: boolean; tty: boolean; rm?: boolean }): Promise<void> {
  const c = cli.client();
  const keys = detachKeys(flags.detachKeys);
  const socket = await c.upgrade('POST', containerPath(view.id, '/attach'));
  const proxy = (signal: NodeJS.Signals): void => void c.call('POST', containerPath(view.id, '/kill'), { signal }).catch(() => undefined);
  const end = await runSession(socket, { tty: flags.tty, stdin: flags.stdin, detachKeys: keys, ...(flags.sigProxy ? { proxySignal: proxy } : {}) });
  if (end.detached) return;
  const code = await statusOf(c, view, end);
  if (flags.rm) await c.call('POST', containerPath(view.id, '/wait?condition=removed')).catch((err: unknown) => ignoreGone(err));
  process.exitCode = code;
}

function ignoreGone(err: unknown): void {
  if (!(err instanceof ApiError && err.status === 404)) throw err;
}

function registerAttach(cli: Cli): void {
  cli.program
    .command('attach')
    .description("attach this terminal's streams to a running container")
    .argument('<container>')
    .option('--no-stdin', 'do not pass stdin')
    .option('--detach-keys <keys>', 'the keys that detach, leaving the container running', DEFAULT_DETACH_KEYS)
    .option('--sig-proxy <bool>', 'pass the signals the client gets to the container (without -t)', (v) => v !== 'false', true)
    .action(async (ref: string, o: AttachFlags & { stdin: boolean }) => {
      const view = await cli.client().call<ContainerView>('GET', containerPath(ref));
      await attachTo(cli, view, { ...o, stdin: o.stdin && view.openStdin === true, tty: view.tty === true });
    });
}

interface ExecFlags {
  env?: string[];
  workdir?: string;
  interactive?: boolean;
  tty?: boolean;
  detach?: boolean;
  detachKeys: string;
}

function registerExec(cli: Cli): void {
  cli.program
    .command('exec')
    .description('run a command in a running container')
    .argument('<container>')
    .argument('<command...>')
    .option('-e, --env <key=value>', 'environment variable (repeatable)', collect)
    .option('-w, --workdir <dir>', 'working directory inside the container')
    .option('-i, --interactive', 'pass stdin to the command')
    .option('-t, --tty', 'give the command a pseudo-terminal')
    .option('-d, --detach', 'run it in the background (its output discarded)')
    .option('--detach-keys <keys>', 'the keys that detach, leaving the command running', DEFAULT_DETACH_KEYS)
    .passThroughOptions()
    .action(async (ref: string, command: string[], o: ExecFlags) => {
      const keys = detachKeys(o.detachKeys);
      const size = o.tty && process.stdout.isTTY && process.stdout.rows ? { ttySize: { rows: process.stdout.rows, cols: process.stdout.columns } } : {};
      const body: ExecBody = {
        command,
        ...(o.env ? { env: o.env } : {}),
        ...(o.workdir ? { workdir: o.workdir } : {}),
        ...(o.tty ? { tty: true } : {}),
        ...(o.interactive ? { stdin: true } : {}),
        ...size,
      };
      if (o.detach) return void (await cli.client().call('POST', containerPath(ref, '/exec'), { ...body, detach: true }));
      const socket = await cli.client().upgrade('POST', containerPath(ref, '/exec'), body);
      const end = await runSession(socket, { tty: o.tty === true, stdin: o.interactive === true, detachKeys: keys });
      if (end.detached) return;
      if (end.exitCode === undefined) throw new ClientError('TSNET_ERR_INTERNAL', `the connection to the daemon ended before the command did`);
      process.exitCode = end.exitCode;
    });
}

interface LogsFlags {
  follow?: boolean;
  tail?: string;
  since?: string;
  until?: string;
  timestamps?: boolean;
}

function registerLogs(cli: Cli): void {
  cli.program
    .command('logs')
    .description("show a container's output (stdout and stderr kept apart)")
    .argument('<container>')
    .option('-f, --follow', 'follow until the container exits')
    .option('-n, --tail <lines>', 'only the last lines (or "all")')
    .option('--since <time>', 'only what was written since: a Unix time, an RFC 3339 date, or a duration such as 10m')
    .option('--until <time>', 'only what was written before it')
    .option('-t, --timestamps', 'the time of each line before it')
    .action(async (ref: string, o: LogsFlags) => {
      const q: LogsQuery = {
        ...(o.follow ? { follow: 'true' } : {}),
        ...(o.tail !== undefined ? { tail: o.tail } : {}),
        ...(o.since ? { since: o.since } : {}),
        ...(o.until ? { until: o.until } : {}),
        ...(o.timestamps ? { timestamps: 'true' } : {}),
      };
      const query = new URLSearchParams(q as Record<string, string>).toString();
      const decoder = new FrameDecoder();
      await cli.client().stream(containerPath(ref, `/logs${query ? `?${query}` : ''}`), (chunk) => {
        for (const f of decoder.push(chunk)) (f.type === FrameType.stderr ? process.stderr : process.stdout).write(f.payload);
      });
    });
}

export function registerStreamCommands(cli: Cli): void {
  registerAttach(cli);
  registerExec(cli);
  registerLogs(cli);
}
