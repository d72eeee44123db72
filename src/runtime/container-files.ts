/**
 * Where a container's files are. Its folder `ROOT/containers/ID` on the disk holds its state, logs, layer folders
 * and exit file; its attach socket is made on the run folder (the daemon's exec root, a tmpfs) when there is one,
 * since each new inode on the disk costs (see docs/performance.md), else in its folder.
 */
import { mkdirSync, readdirSync, renameSync, unlinkSync } from 'node:fs';
import { rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { LaunchPaths } from './launcher-args.js';
import { spreadSubfolders } from './spread-folders.js';
import { deleteWhenIdle } from '../lib/idle-delete.js';

/** Where, in a container's folder, its output is recorded and (without a run folder) clients attach to it. */
const CONTAINER_LOG = 'container.log';
const ATTACH_SOCKET = 'attach.sock';
/** Where a container created before profiles were kept once has its seccomp rules. */
const SECCOMP_RULES = 'seccomp.rules';

/** How long removals must pause before the trash is emptied. */
const SWEEP_AFTER_MS = 200;

export class ContainerFiles {
  /** The folder of every container's folder. */
  readonly folder: string;

  /**
   * Where removed containers' folders wait for their deletion: moved there at once (a rename, on the same
   * filesystem) and deleted in the background, so that removing a hundred containers does not wait for the disk.
   */
  private readonly trash: string;

  /** Folders moved to the trash whose deletion has not begun, the timer that begins it, and the deletion under way. */
  private readonly moved: string[] = [];
  private sweep: NodeJS.Timeout | undefined;
  private sweeping = false;

  constructor(
    root: string,
    private readonly runDir?: string,
  ) {
    this.folder = join(root, 'containers');
    this.trash = join(root, 'containers.removed');
    mkdirSync(this.folder, { recursive: true, mode: 0o700 });
    mkdirSync(this.trash, { recursive: true, mode: 0o700 });
    spreadSubfolders(this.folder);
    if (runDir) mkdirSync(join(runDir, 'attach'), { recursive: true, mode: 0o700 });
    // What a stop or a crash left there before its deletion ended: its entries, not the folder, which a removal may
    // move another into meanwhile.
    void deleteWhenIdle(readdirSync(this.trash).map((left) => join(this.trash, left)));
  }

  dir(id: string): string {
    return join(this.folder, id);
  }

  /** Where its running launcher listens for clients. */
  attachSocket(id: string): string {
    return this.runDir ? join(this.runDir, 'attach', `${id}.sock`) : join(this.dir(id), ATTACH_SOCKET);
  }

  /** Where its launcher may listen: its own place, then its folder (a container started by an earlier version). */
  attachSockets(id: string): string[] {
    return [...new Set([this.attachSocket(id), join(this.dir(id), ATTACH_SOCKET)])];
  }

  /** Its layer's upper folder, made if missing (a container never started has no changes yet). */
  changes(id: string): string {
    const upper = this.upper(id);
    mkdirSync(upper, { recursive: true, mode: 0o755 });
    return upper;
  }

  private upper(id: string): string {
    return join(this.dir(id), 'upper');
  }

  /** What its launcher is told of its files at a start (the layer folders are the launcher's to make). */
  launchPaths(id: string, layerDir: string): LaunchPaths {
    return {
      layerDir,
      log: this.log(id),
      attachSocket: this.attachSocket(id),
      upper: this.upper(id),
      work: join(this.dir(id), 'work'),
      exitFile: this.exitFile(id),
    };
  }

  /** Its own seccomp rules, kept there by versions that did not yet keep them once per profile. */
  seccompRules(id: string): string {
    return join(this.dir(id), SECCOMP_RULES);
  }

  /** Its output, as records (see container-log.ts). */
  log(id: string): string {
    return join(this.dir(id), CONTAINER_LOG);
  }

  /** What its monitor itself said (a failure to start is also reported to the caller). */
  monitorLog(id: string): string {
    return join(this.dir(id), 'monitor.log');
  }

  /** Its end's status, written by its monitor. */
  exitFile(id: string): string {
    return join(this.dir(id), 'exit');
  }

  /** A former run's end is forgotten before a start: one unlink, where rmSync's force would look first. */
  forgetExit(id: string): void {
    try {
      unlinkSync(this.exitFile(id));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }

  /**
   * Its socket, and its folder: moved to the trash, then deleted in the background (left there on failure, the next
   * start deletes it). A folder that cannot be moved is deleted where it is.
   */
  async remove(id: string): Promise<void> {
    await Promise.all([this.removeSocket(id), this.removeFolder(id)]);
  }

  private async removeSocket(id: string): Promise<void> {
    try {
      await unlink(this.attachSocket(id));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }

  private async removeFolder(id: string): Promise<void> {
    const moved = join(this.trash, `${id}-${Date.now().toString(36)}`);
    try {
      renameSync(this.dir(id), moved);
      this.sweepSoon(moved);
    } catch {
      await rm(this.dir(id), { recursive: true, force: true });
    }
  }

  /**
   * Deletes the folder once removals pause for a moment, with the others moved meanwhile: one deletion for a burst
   * (a hundred containers removed at once), and one at a time (each starts a process, which costs the daemon about
   * 10 ms of its thread: a thousand removals in waves started dozens). The timer does not hold the process; a folder
   * left in the trash is deleted at the next start.
   */
  private sweepSoon(path?: string): void {
    if (path) this.moved.push(path);
    clearTimeout(this.sweep);
    this.sweep = setTimeout(() => {
      // What is moved while one runs waits for its end.
      if (this.sweeping || this.moved.length === 0) return;
      this.sweeping = true;
      void deleteWhenIdle(this.moved.splice(0)).then(() => {
        this.sweeping = false;
        if (this.moved.length > 0) this.sweepSoon();
      });
    }, SWEEP_AFTER_MS).unref();
  }
}
