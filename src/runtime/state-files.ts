/**
 * Containers' state.json files, written atomically and read back at open. A state that must not be lost (a
 * container's end) is kept in memory when the disk is full and saved again every second until space returns: the
 * exit handler never throws.
 */
import { existsSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ContainerState } from './types.js';

export class StateFiles {
  /** Containers whose state could not be saved yet, with whether each still exists. */
  private readonly unsaved = new Map<string, { state: ContainerState; exists: () => boolean }>();
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly dirOf: (id: string) => string,
    private readonly onBackgroundError: (what: string, err: unknown) => void,
  ) {}

  /** Saves counted per container: an asynchronous save that a later one overtook is not put in place. */
  private readonly saves = new Map<string, number>();

  save(state: ContainerState): void {
    this.saves.set(state.id, (this.saves.get(state.id) ?? 0) + 1);
    const file = join(this.dirOf(state.id), 'state.json');
    writeFileSync(`${file}.tmp`, JSON.stringify(state));
    renameSync(`${file}.tmp`, file);
  }

  /**
   * The same with the new file written off the event loop's thread (under a lab's load, a new file costs it
   * milliseconds); put in place at once when written, unless a later save came meanwhile.
   */
  async saveAsync(state: ContainerState): Promise<void> {
    const n = (this.saves.get(state.id) ?? 0) + 1;
    this.saves.set(state.id, n);
    const file = join(this.dirOf(state.id), 'state.json');
    await writeFile(`${file}.${n}.tmp`, JSON.stringify(state));
    if (this.saves.get(state.id) === n) renameSync(`${file}.${n}.tmp`, file);
    else rmSync(`${file}.${n}.tmp`, { force: true }); // overtaken (or the container removed meanwhile)
  }

  /** The states saved in the containers' folder; a folder without one (a create a crash cut short) is removed. */
  readAll(folder: string): ContainerState[] {
    return readdirSync(folder).flatMap((id) => {
      const file = join(folder, id, 'state.json');
      if (existsSync(file)) return [JSON.parse(readFileSync(file, 'utf8')) as ContainerState];
      rmSync(join(folder, id), { recursive: true, force: true });
      return [];
    });
  }

  /** Forgets a removed container's count. */
  forget(id: string): void {
    this.saves.delete(id);
  }

  saveOrRetry(state: ContainerState, exists: () => boolean): void {
    try {
      this.save(state);
      this.unsaved.delete(state.id);
    } catch (err) {
      this.unsaved.set(state.id, { state, exists });
      this.onBackgroundError(`container ${state.name}: cannot record its state yet; retrying`, err);
      if (!this.retryTimer) {
        this.retryTimer = setInterval(() => {
          for (const u of [...this.unsaved.values()])
            if (u.exists()) this.saveOrRetry(u.state, u.exists);
            else this.unsaved.delete(u.state.id);
          if (this.unsaved.size === 0) this.close();
        }, 1000);
        this.retryTimer.unref();
      }
    }
  }

  /** Stops retrying. */
  close(): void {
    if (this.retryTimer) clearInterval(this.retryTimer);
    this.retryTimer = undefined;
  }
}
