/** The runtime's records: a container's configuration and its state, as kept in its state.json. */
import type { ContainerCgroups, Limits } from './cgroups.js';
import type { Confinement, SecurityRequest } from './security/confinement.js';

/** The confinement as kept in a container's state: the seccomp rules are kept once per profile, named by their hash. */
export type StoredConfinement = Omit<Confinement, 'seccompRules'> & {
  readonly seccomp: boolean;
  /** The rules' hash, naming the compiled program. */ readonly seccompHash?: string;
};

export interface ContainerConfig {
  readonly image: string;
  readonly command: readonly string[];
  readonly name?: string;
  readonly env?: readonly string[];
  readonly hostname?: string;
  readonly cwd?: string;
  readonly uid?: number;
  readonly gid?: number;
  /**
   * The sandbox's namespace file and files, when they are the same at every start; else each start gives them
   * (the daemon makes a container's sandbox at its start and releases it at its end, as Docker does).
   */
  readonly netnsPath?: string;
  readonly hostsFile?: string;
  readonly resolvFile?: string;
  /** --read-only: the root file system read-only (its own mounts, such as --tmpfs, as they are). */
  readonly readOnly?: boolean;
  /** Volumes and bind mounts, mounted in this order (parents before children). */
  readonly mounts?: readonly Mount[];
  /** --tmpfs PATH[:OPTS] */
  readonly tmpfs?: readonly string[];
  /** --shm-size, in bytes (default 64 MiB). */
  readonly shmSize?: number;
  /** --ulimit, as NAME=SOFT:HARD. */
  readonly ulimits?: readonly string[];
  /** The signal `stop` sends first (default SIGTERM), and the seconds it waits before SIGKILL (default 10). */
  readonly stopSignal?: string;
  readonly stopTimeout?: number;
  readonly limits?: Limits;
  /** Run a minimal init as PID 1 that reaps zombies and forwards signals (the command is then PID 2). */
  readonly init?: boolean;
  /** A terminal for its process (-t): stdin, stdout and stderr are its pseudo-terminal. */
  readonly tty?: boolean;
  /** Keep its stdin open for clients that attach (-i). */
  readonly openStdin?: boolean;
  /** Remove the container when it exits. */
  readonly autoRemove?: boolean;
  /** The container's id (64 hex digits), when the caller chose it beforehand; else one is made. */
  readonly id?: string;
  /** Free-form labels (the daemon keeps the sandbox id here). */
  readonly labels?: Readonly<Record<string, string>>;
  /** Docker's security flags: --privileged, --cap-add, --cap-drop, --security-opt, --device. */
  readonly security?: SecurityRequest;
}

export type ContainerStatus = 'created' | 'running' | 'paused' | 'exited';

/** The network a start joins: a sandbox's namespace and its files. */
export interface StartNetwork {
  readonly netnsPath: string;
  readonly hostsFile?: string;
  readonly resolvFile?: string;
}

export interface ContainerState {
  readonly id: string;
  readonly name: string;
  readonly imageName: string;
  readonly imageId: string;
  readonly config: ContainerConfig;
  readonly created: string;
  status: ContainerStatus;
  pid?: number;
  /** /proc/PID/stat start time, in clock ticks since boot. */
  startTime?: string;
  startedAt?: string;
  finishedAt?: string;
  exitCode?: number;
  oomKilled?: boolean;
  cgroups?: ContainerCgroups;
  /** How it is confined (absent for containers made before tsnet confined them). */
  confinement?: StoredConfinement;
  /** What the daemon keeps with the container (its networks and policies): opaque to the runtime. */
  daemon?: Readonly<Record<string, unknown>>;
}

/** A volume or a host path mounted in the container (-v, --mount, --volumes-from). */
export interface Mount {
  readonly type: 'volume' | 'bind';
  /** The volume's name, or the host path. */
  readonly source: string;
  /** Where in the container (absolute). */
  readonly target: string;
  readonly readOnly?: boolean;
}

/** A terminal's size. */
export interface TtySize {
  readonly rows: number;
  readonly cols: number;
}

/** How a container is started. */
export interface StartOptions {
  /** Its output waits (a few seconds at most) for the first client to attach: `run` without -d sees all of it. */
  readonly holdForAttach?: boolean;
  /** The terminal's first size (-t). */
  readonly ttySize?: TtySize;
  /** The sandbox it joins (else the one in its configuration). */
  readonly network?: StartNetwork;
}

/** A command run in a container with its streams relayed as frames (see frames.ts). */
export interface ExecStreamOptions {
  readonly env?: readonly string[];
  readonly cwd?: string;
  readonly tty?: boolean;
  readonly stdin?: boolean;
  readonly ttySize?: TtySize;
}

export interface ExecResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** What an image says of how to run it (Docker's image config, the part tsnet honours). */
export interface ImageConfig {
  readonly Cmd?: readonly string[] | null;
  readonly Entrypoint?: readonly string[] | null;
  readonly Env?: readonly string[] | null;
  readonly WorkingDir?: string;
  readonly User?: string;
  readonly ExposedPorts?: Readonly<Record<string, unknown>> | null;
  readonly Labels?: Readonly<Record<string, string>> | null;
}
