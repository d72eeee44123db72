/**
 * The lightweight container runtime, after libcontainer: a factory makes a container from a configuration, the
 * container runs processes. Starting one runs native/launcher.c, which clones into new PID, mount, UTS and IPC
 * namespaces, joins the sandbox's network namespace, mounts the overlay root and pivots; it then stays as the
 * container's monitor and records its exit status. State lives in ROOT/containers/<id>/ (two slots written in turn,
 * a crash leaving one whole: state-slots.ts); a runtime opened again re-adopts running containers, checking each PID
 * against its start time so that a recycled PID is not mistaken for the container.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { constants } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError, TsnetError } from '../errors.js';
import { Cgroups } from './cgroups.js';
import { checkCreate } from './create-checks.js';
import { commitContainer } from './commit.js';
import { ContainerIo } from './container-io.js';
import { launcherPath, processStartTime, runLauncher, startFailureCode } from './launcher-process.js';
import { ImageStore, type Image } from './images.js';
import { ContainerEnds } from './container-ends.js';
import { StateFiles } from './state-files.js';
import { VolumeStore } from './volumes.js';
import { runArgs } from './launcher-args.js';
import { ContainerFiles } from './container-files.js';
import { ContainerTable } from './container-table.js';
import { planConfinement } from './security/confinement.js';
import { SeccompPrograms, type SeccompProgram } from './security/seccomp-programs.js';
import { DefaultSeccompRules } from './security/seccomp.js';
import { Spawner, spawnDirect } from './spawner.js';
import type { ContainerConfig, ContainerState, ContainerStatus, StartOptions } from './types.js';

export type { ContainerConfig, ContainerState, ContainerStatus, ExecResult, ExecStreamOptions, Mount, StartNetwork, StartOptions, TtySize } from './types.js';
export type { RelayedExec } from './exec.js';
export { processStartTime } from './launcher-process.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class Runtime {
  readonly images: ImageStore;
  readonly volumes: VolumeStore;
  /** Commands exec'd in its containers, their streams, logs and exported files. */
  readonly io: ContainerIo;
  /** Where each container's files are. */
  readonly files: ContainerFiles;
  private readonly containers = new ContainerTable();
  /** Exit statuses awaited (null when the status is unknown), and re-adopted containers watched. */
  private readonly ends = new ContainerEnds();
  private readonly states: StateFiles;
  /** Containers being removed: their end is not saved, and their groups go with the removal (without blocking). */
  private readonly removing = new Set<string>();
  /** Containers whose monitor this runtime started and watches (its exit is the container's end). */
  private readonly monitored = new Set<string>();
  /** Cgroup removals after an end, by container id: a start or a removal of the container waits for its own. */
  private readonly groupRemovals = new Map<string, Promise<void>>();
  /** Containers being created (their folder, cgroups and state file on the way): their names, by id. */
  private readonly creating = new Map<string, string>();
  /** Starts launchers without forking the daemon (see spawner.ts). */
  private readonly spawner: Spawner | undefined;
  private readonly launcher = launcherPath();
  private readonly seccomp: SeccompPrograms;
  private readonly defaultSeccomp = new DefaultSeccompRules();

  private constructor(
    readonly root: string,
    readonly cgroups: Cgroups,
    /** Where failures of background work go (the daemon's log). */
    private readonly onBackgroundError: (what: string, err: unknown) => void,
    useSpawner: boolean,
    /** The folder of what a reboot wipes (the daemon's exec root): the attach sockets; else the containers' folders. */
    runDir?: string,
  ) {
    this.files = new ContainerFiles(root, runDir);
    this.images = new ImageStore(join(root, 'images'), (dir) => runLauncher(this.launcher, ['whiteouts', dir]));
    this.volumes = new VolumeStore(join(root, 'volumes'));
    this.io = new ContainerIo(this.launcher, {
      get: (ref) => this.get(ref),
      files: this.files,
      seccompOf: (state) => this.seccompOf(state),
      lowerDirs: (state) => this.images.lowerDirs(this.images.get(state.imageId)),
    });
    this.states = new StateFiles((id) => this.dir(id), onBackgroundError);
    this.seccomp = new SeccompPrograms(join(root, 'seccomp'), this.launcher);
    this.spawner = useSpawner ? Spawner.open(this.launcher) : undefined;
  }

  /** Opens the runtime and re-adopts what it finds: running containers keep running, dead ones become exited. */
  static open(
    root: string,
    options: {
      cgroups?: Cgroups;
      onBackgroundError?: (what: string, err: unknown) => void;
      /** false: Node forks the launchers itself. */ spawner?: boolean;
      /** The folder of what a reboot wipes (a tmpfs): the attach sockets go there instead of the containers' folders. */
      runDir?: string;
    } = {},
  ): Runtime {
    const onError = options.onBackgroundError ?? (() => undefined);
    const rt = new Runtime(root, options.cgroups ?? new Cgroups(), onError, options.spawner ?? true, options.runDir);
    for (const state of rt.states.readAll(rt.files.folder)) {
      rt.containers.set(state);
      if (state.status === 'running' || state.status === 'paused') {
        if (state.pid && processStartTime(state.pid) === state.startTime) {
          rt.ends.watchByPolling(
            state,
            () => rt.finish(state),
            () => existsSync(rt.files.exitFile(state.id)),
          );
        } else rt.finish(state);
      }
    }
    return rt;
  }

  /** Stops watching (the containers go on; a runtime opened later re-adopts them). Lets the process exit. */
  close(): void {
    this.states.close();
    this.ends.close();
    this.monitored.clear();
    this.spawner?.close();
  }

  list(): ContainerState[] {
    this.ends.checkNow();
    return this.containers.sorted();
  }

  /** The containers with this label, oldest first, read as list() reads them (an end that has happened is seen). */
  withLabel(key: string, value: string): ContainerState[] {
    const found = this.containers.withLabel(key, value);
    for (const c of found) this.ends.checkNow(c.id);
    return found;
  }

  /** By id, unique id prefix, or name. */
  get(ref: string): ContainerState {
    const found = this.containers.find(ref);
    this.ends.checkNow(found.id); // only the one read: a name's lookup need not check every re-adopted container
    return found;
  }

  /** The container's folder (see ContainerFiles for the rest of its files). */
  dir(id: string): string {
    return this.files.dir(id);
  }

  /**
   * Creates a container: checks the configuration (a refusal changes nothing), makes its folder, cgroups and state
   * file off the event loop's thread (each a new inode or group: under a lab's load, milliseconds of the kernel's
   * time), and records it once they are there. Nothing runs yet.
   */
  async create(config: ContainerConfig, daemon?: Readonly<Record<string, unknown>>): Promise<ContainerState> {
    this.ends.checkNow(); // a container that has just ended and is removed frees its name
    const { id, name } = checkCreate(config, {
      id: (x: string) => this.containers.has(x) || this.creating.has(x),
      name: (x: string) => this.containers.nameTaken(x) || [...this.creating.values()].includes(x),
    });
    const image = this.images.get(config.image);
    const plan = planConfinement(config.security ?? {}, this.cgroups.deviceControl, this.defaultSeccomp);
    const dir = this.dir(id);
    // Its id and name are held while it is made, so that a create meanwhile cannot take them.
    this.creating.set(id, name);
    try {
      // Its layer's folders (upper, work) are the launcher's to make at the first start.
      await mkdir(dir, { recursive: true, mode: 0o755 });
      const base = { id, name, imageName: image.name, imageId: image.id, config, created: new Date().toISOString(), status: 'created' } as const;
      return await this.record(base, plan, daemon);
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    } finally {
      this.creating.delete(id);
    }
  }

  /** The rest of a create, in the container's new folder: its seccomp profile kept, its cgroups, its state file. */
  private async record(
    base: Omit<ContainerState, 'cgroups' | 'confinement' | 'daemon'>,
    plan: ReturnType<typeof planConfinement>,
    daemon?: Readonly<Record<string, unknown>>,
  ): Promise<ContainerState> {
    const { seccompRules, ...confinement } = plan;
    const seccompHash = seccompRules !== null ? this.seccomp.keep(seccompRules) : undefined;
    const cgroups = await this.cgroups.create(base.id, base.config.limits ?? {}, confinement.deviceRules);
    const state: ContainerState = {
      ...base,
      cgroups,
      confinement: { ...confinement, seccomp: seccompHash !== undefined, ...(seccompHash !== undefined ? { seccompHash } : {}) },
      ...(daemon ? { daemon } : {}),
    };
    try {
      await this.states.saveAsync(state);
    } catch (err) {
      await this.cgroups.removeAsync(cgroups);
      throw err;
    }
    this.containers.set(state);
    return state;
  }

  private seccompOf(state: ContainerState): SeccompProgram | null {
    return this.seccomp.programOf(state.confinement, this.files.seccompRules(state.id));
  }

  /** Starts it (again, after it exited); resolves once the command has been exec'd (or rejects with the step that failed). */
  async start(ref: string, options: StartOptions = {}): Promise<ContainerState> {
    const state = this.get(ref);
    if (state.status !== 'created' && state.status !== 'exited')
      throw new TsnetError('TSNET_ERR_CONFLICT', `container "${state.name}" is ${state.status}: only a created or exited container can be started`);
    const netns = options.network?.netnsPath ?? state.config.netnsPath;
    if (netns === undefined || !existsSync(netns))
      throw new InvalidArgumentError(`container "${state.name}": its network namespace ${netns ?? '(none given)'} does not exist`);
    if (state.status === 'exited') await this.prepareRestart(state);
    const image = this.images.get(state.imageId);
    for (const m of state.config.mounts ?? []) if (m.type === 'volume') this.volumes.populate(m.source, this.images.findPath(image, m.target) ?? '');
    const paths = this.files.launchPaths(state.id, this.images.layerDir(image));
    const args = runArgs(state, paths, this.seccompOf(state), options, (n) => this.volumes.dataDir(n));
    this.files.forgetExit(state.id); // a former run's end, not this one's
    const argv = [this.launcher, ...args];
    const log = this.files.monitorLog(state.id);
    const monitor = this.spawner?.alive ? await this.spawner.run(argv, log) : await spawnDirect(this.launcher, argv, log);
    const ok = /^ok (\d+)$/u.exec(monitor.report);
    if (!ok) {
      await monitor.exited;
      const why = monitor.report.replace(/^error /u, '') || 'the launcher died';
      throw new TsnetError(startFailureCode(why), `container "${state.name}" failed to start: ${why}`);
    }
    state.pid = Number(ok[1]);
    state.startTime = processStartTime(state.pid) ?? '';
    state.status = 'running';
    state.startedAt = new Date().toISOString();
    this.monitored.add(state.id);
    void monitor.exited.then((code) => {
      // After close() the containers go on alone: their ends are the next runtime's to notice.
      if (this.monitored.delete(state.id)) this.finish(state, code);
    });
    // While the runtime is open it watches its containers (close() lets them go on alone). An end saved before this
    // save is done overtakes it.
    await this.states.saveAsync(state);
    return state;
  }

  /** An exited container made ready to start again: its cgroups anew, its last end forgotten, its layer kept. */
  private async prepareRestart(state: ContainerState): Promise<void> {
    await this.groupRemovals.get(state.id);
    const confinement = state.confinement;
    state.cgroups = await this.cgroups.create(state.id, state.config.limits ?? {}, confinement?.deviceRules ?? 'all');
    delete state.exitCode;
    delete state.oomKilled;
    this.ends.forget(state.id);
  }

  /** Resolves with the exit code when the container has exited (null: its status is unknown). */
  wait(ref: string): Promise<number | null> {
    const state = this.get(ref);
    if (state.status === 'exited') return Promise.resolve(state.exitCode ?? null);
    return this.ends.waitFor(state.id);
  }

  /**
   * Records the end of a container. Its status comes from the exit file its monitor wrote, else from the monitor's own
   * exit status (the same number) when the monitor is this process's child; with neither, it is unknown, never 0.
   */
  private finish(state: ContainerState, monitorCode?: number | null): void {
    if (state.status === 'exited' || state.status === 'created' || !this.containers.has(state.id)) return;
    const exitFile = this.files.exitFile(state.id);
    const written = existsSync(exitFile) ? /^(\d{1,3})\n$/u.exec(readFileSync(exitFile, 'utf8'))?.[1] : undefined;
    const code = written !== undefined ? Number(written) : (monitorCode ?? undefined);
    if (code !== undefined) state.exitCode = code;
    else delete state.exitCode;
    state.status = 'exited';
    state.finishedAt = new Date().toISOString();
    if (this.removing.has(state.id)) {
      this.ends.settle(state.id, state.exitCode ?? null);
      return;
    }
    if (!state.cgroups) return this.recordEnd(state);
    state.oomKilled = this.cgroups.oomKilled(state.cgroups);
    // Off the daemon's thread: the kernel takes about a millisecond a group (nine under cgroup v1), which many ends at
    // once would spend in turn. A group the kernel keeps busy is left for remove() to try again.
    const removal = this.cgroups.removeAsync(state.cgroups).catch(() => undefined);
    this.groupRemovals.set(state.id, removal);
    void removal.then(() => {
      if (this.groupRemovals.get(state.id) === removal) this.groupRemovals.delete(state.id);
      this.recordEnd(state);
    });
  }

  /** Saves an end (unless the container is gone meanwhile) and tells whoever waits; an --rm container's files go. */
  private recordEnd(state: ContainerState): void {
    this.states.saveOrRetry(state, () => this.containers.has(state.id));
    this.ends.settle(state.id, state.exitCode ?? null);
    if (state.config.autoRemove && this.containers.has(state.id))
      void this.removeFiles(state, true).catch((err: unknown) => this.onBackgroundError(`container ${state.name}: removing its files`, err));
  }

  /** Sends a signal to the container's first process (a paused one is thawed first, so that the signal acts). */
  async kill(ref: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!(signal in constants.signals)) throw new InvalidArgumentError(`unknown signal "${signal}"`);
    const state = this.get(ref);
    if ((state.status !== 'running' && state.status !== 'paused') || !state.pid)
      throw new TsnetError('TSNET_ERR_CONFLICT', `container "${state.name}" is not running`);
    if (processStartTime(state.pid) !== state.startTime) return; // already gone; its end is being recorded
    process.kill(state.pid, signal);
    if (state.status === 'paused') await this.unpause(state.id);
  }

  /** Its stop signal (--stop-signal, default SIGTERM), then SIGKILL after the timeout; resolves when it has exited. */
  async stop(ref: string, timeoutSeconds?: number): Promise<ContainerState> {
    const state = this.get(ref);
    if (state.status !== 'running' && state.status !== 'paused') return state;
    const exited = this.wait(state.id);
    const timeout = timeoutSeconds ?? state.config.stopTimeout ?? 10;
    await this.kill(state.id, (state.config.stopSignal ?? 'SIGTERM') as NodeJS.Signals);
    const done = await Promise.race([exited.then(() => true), sleep(timeout * 1000).then(() => false)]);
    if (!done && (state.status as ContainerStatus) !== 'exited') await this.kill(state.id, 'SIGKILL');
    await exited;
    return state;
  }

  /** Freezes every process of a running container (the cgroup freezer); unpause thaws them. */
  async pause(ref: string): Promise<ContainerState> {
    const state = this.get(ref);
    if (state.status !== 'running' || !state.cgroups)
      throw new TsnetError('TSNET_ERR_CONFLICT', `container "${state.name}" is ${state.status}: only a running container can be paused`);
    if (!this.cgroups.canFreeze) throw new TsnetError('TSNET_ERR_INTERNAL', 'pause needs the cgroup freezer, which this machine does not have');
    await this.cgroups.freeze(state.cgroups, true);
    state.status = 'paused';
    this.states.save(state);
    return state;
  }

  async unpause(ref: string): Promise<ContainerState> {
    const state = this.get(ref);
    if (state.status !== 'paused' || !state.cgroups) throw new TsnetError('TSNET_ERR_CONFLICT', `container "${state.name}" is not paused`);
    await this.cgroups.freeze(state.cgroups, false);
    state.status = 'running';
    this.states.save(state);
    return state;
  }

  /** The container's changes as a new image on top of its own (frozen meanwhile when it runs, as Docker pauses it). */
  async commit(ref: string, name: string, options: { changes?: readonly string[]; comment?: string; pause?: boolean } = {}): Promise<Image[]> {
    const state = this.get(ref);
    const source = { running: state.status === 'running', upper: this.files.changes(state.id), base: this.images.get(state.imageId) };
    const freeze = (frozen: boolean): Promise<ContainerState> => (frozen ? this.pause(state.id) : this.unpause(state.id));
    return commitContainer(this.images, this.cgroups.canFreeze ? { ...source, freeze } : source, {
      name,
      ...options,
      opaqueMarks: (src, dst) => runLauncher(this.launcher, ['opaque-marks', src, dst]),
    });
  }

  /** Keeps what the daemon records with the container (see ContainerState.daemon). */
  setDaemonRecord(ref: string, record: Readonly<Record<string, unknown>>): void {
    const state = this.get(ref);
    state.daemon = record;
    this.states.save(state);
  }

  /** The containers that mount the volume. */
  volumeUsers(name: string): ContainerState[] {
    return this.list().filter((c) => c.config.mounts?.some((m) => m.type === 'volume' && m.source === name));
  }

  /** Removes a container; a running one only with force (it is killed first); with volumes, its anonymous ones too. */
  async remove(ref: string, options: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
    const state = this.get(ref);
    if (state.status === 'running' || state.status === 'paused') {
      if (!options.force) throw new TsnetError('TSNET_ERR_CONFLICT', `container "${state.name}" is ${state.status}: stop it first, or remove it with force`);
      const exited = this.wait(state.id);
      this.removing.add(state.id);
      try {
        await this.kill(state.id, 'SIGKILL');
        await exited;
      } finally {
        this.removing.delete(state.id);
      }
    }
    await this.groupRemovals.get(state.id);
    if (state.cgroups) await this.cgroups.removeAsync(state.cgroups); // already gone counts as removed
    await this.removeFiles(state, options.volumes ?? false);
  }

  /** Forgets the container at once; its folder goes off the event loop, so that many containers' go side by side. */
  private async removeFiles(state: ContainerState, anonymousVolumes: boolean): Promise<void> {
    this.containers.delete(state.id);
    this.states.forget(state.id);
    // Docker's rm -v and --rm: the anonymous volumes no other container mounts go with it.
    for (const m of anonymousVolumes ? (state.config.mounts ?? []) : []) {
      if (m.type === 'volume' && this.volumes.has(m.source) && this.volumes.get(m.source).anonymous && this.volumeUsers(m.source).length === 0)
        this.volumes.remove(m.source);
    }
    await this.files.remove(state.id);
  }

  /** Whether any container uses the image (images in use cannot be removed). */
  imageInUse(imageId: string): boolean {
    return this.list().some((c) => c.imageId === imageId);
  }
}
