/** The launcher's command lines: `run` for a container, `exec` for a command in a running one, both confined alike. */
import { InvalidArgumentError } from '../errors.js';
import { launcherSecurityArgs } from './security/confinement.js';
import type { SeccompProgram } from './security/seccomp-programs.js';
import type { ContainerState, ExecStreamOptions, StartOptions, TtySize } from './types.js';

/** A NUL byte cannot reach the kernel in an argument or a variable: refused, not cut short. */
export function checkNoNul(what: string, values: readonly string[]): void {
  const bad = values.find((v) => v.includes('\0'));
  if (bad !== undefined) throw new InvalidArgumentError(`${what} ${JSON.stringify(bad)} contains a NUL byte`);
}
const ENV_RE = /^[^=\0]+=[^\0]*$/u;

/** A command and its environment as the launcher can pass them: no NUL byte, every variable KEY=VALUE. */
export function checkCommand(command: readonly string[], env: readonly string[]): void {
  checkNoNul('command', command);
  checkNoNul('environment', env);
  for (const e of env) if (!ENV_RE.test(e)) throw new InvalidArgumentError(`environment variable "${e}" is not of the form KEY=VALUE`);
}

function securityArgs(state: ContainerState, seccomp: SeccompProgram | null): string[] {
  const c = state.confinement;
  return c ? launcherSecurityArgs({ ...c, seccompRules: null }, c.seccomp ? seccomp : null) : [];
}

/** How long a container's output waits for the first client (`run` without -d attaches right after starting it). */
const HOLD_FOR_ATTACH_MS = 10_000;

function streamArgs(tty: boolean | undefined, stdin: boolean | undefined, size: TtySize | undefined): string[] {
  return [...(tty ? ['--tty'] : []), ...(stdin ? ['--stdin'] : []), ...(tty && size ? ['--tty-size', `${size.rows},${size.cols}`] : [])];
}

/** Where a run's launcher finds and puts a container's files (its image's top layer, and ContainerFiles' paths). */
export interface LaunchPaths {
  readonly layerDir: string;
  readonly log: string;
  readonly attachSocket: string;
  readonly upper: string;
  readonly work: string;
  readonly exitFile: string;
}

export function runArgs(
  state: ContainerState,
  paths: LaunchPaths,
  seccomp: SeccompProgram | null,
  start: StartOptions = {},
  volumeDir: (name: string) => string = (n) => n,
): string[] {
  const c = state.config;
  const net = start.network ?? c;
  return [
    'run',
    '--log',
    paths.log,
    '--attach-socket',
    paths.attachSocket,
    ...(start.holdForAttach ? ['--hold-ms', String(HOLD_FOR_ATTACH_MS)] : []),
    ...streamArgs(c.tty, c.openStdin, start.ttySize),
    '--netns',
    net.netnsPath ?? '',
    '--lower',
    paths.layerDir,
    '--upper',
    paths.upper,
    '--work',
    paths.work,
    '--hostname',
    c.hostname ?? state.id.slice(0, 12),
    '--exit-file',
    paths.exitFile,
    '--uid',
    String(c.uid ?? 0),
    '--gid',
    String(c.gid ?? 0),
    ...(c.cwd ? ['--cwd', c.cwd] : []),
    ...(net.hostsFile ? ['--hosts', net.hostsFile] : []),
    ...(net.resolvFile ? ['--resolv', net.resolvFile] : []),
    ...(c.init ? ['--init'] : []),
    ...(c.readOnly ? ['--read-only'] : []),
    ...(c.mounts ?? []).flatMap((m) => ['--bind', m.type === 'volume' ? volumeDir(m.source) : m.source, m.target, m.readOnly ? 'ro' : 'rw']),
    ...(c.tmpfs ?? []).flatMap((t) => ['--tmpfs', t]),
    ...(c.shmSize !== undefined ? ['--shm-size', String(c.shmSize)] : []),
    ...(c.ulimits ?? []).flatMap((u) => ['--ulimit', u]),
    ...(c.env ?? []).flatMap((e) => ['--env', e]),
    ...(state.cgroups?.procsFiles ?? []).flatMap((f) => ['--cgroup-procs', f]),
    ...securityArgs(state, seccomp),
    '--',
    ...c.command,
  ];
}

export function execArgs(
  state: ContainerState,
  seccomp: SeccompProgram | null,
  command: readonly string[],
  options: ExecStreamOptions,
  relay = false,
): string[] {
  return [
    'exec',
    ...(relay ? ['--relay', ...streamArgs(options.tty, options.stdin, options.ttySize)] : []),
    '--pid',
    String(state.pid),
    '--uid',
    String(state.config.uid ?? 0),
    '--gid',
    String(state.config.gid ?? 0),
    ...((options.cwd ?? state.config.cwd) ? ['--cwd', (options.cwd ?? state.config.cwd)!] : []),
    ...(state.config.ulimits ?? []).flatMap((u) => ['--ulimit', u]),
    ...[...(state.config.env ?? []), ...(options.env ?? [])].flatMap((e) => ['--env', e]),
    ...(state.cgroups?.procsFiles ?? []).flatMap((f) => ['--cgroup-procs', f]),
    ...securityArgs(state, seccomp),
    '--',
    ...command,
  ];
}
