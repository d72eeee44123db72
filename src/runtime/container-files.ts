/**
 * Where a container's files are. Its folder `ROOT/containers/ID` on the disk holds its state, logs, layer folders
 * and exit file; its attach socket is made on the run folder (the daemon's exec root, a tmpfs) when there is one,
 * since each new inode on the disk costs (see docs/performance.md), else in its folder.
 */
import { mkdirSync, unlinkSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ATTACH_SOCKET, CONTAINER_LOG } from './launcher-args.js';
import { spreadSubfolders } from './spread-folders.js';

export class ContainerFiles {
  /** The folder of every container's folder. */
  readonly folder: string;

  constructor(
    root: string,
    private readonly runDir?: string,
  ) {
    this.folder = join(root, 'containers');
    mkdirSync(this.folder, { recursive: true, mode: 0o700 });
    spreadSubfolders(this.folder);
    if (runDir) mkdirSync(join(runDir, 'attach'), { recursive: true, mode: 0o700 });
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
    const upper = join(this.dir(id), 'upper');
    mkdirSync(upper, { recursive: true, mode: 0o755 });
    return upper;
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

  /** Its folder and its socket, off the event loop's thread. */
  async remove(id: string): Promise<void> {
    await Promise.all([rm(this.dir(id), { recursive: true, force: true }), rm(this.attachSocket(id), { force: true })]);
  }
}
