/**
 * A container's state.json, written atomically. A state that must not be lost (a container's end) is kept in
 * memory when the disk is full and saved again every second until space returns: the exit handler never throws.
 */
import { renameSync, writeFileSync } from 'node:fs';
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

  save(state: ContainerState): void {
    const file = join(this.dirOf(state.id), 'state.json');
    writeFileSync(`${file}.tmp`, JSON.stringify(state));
    renameSync(`${file}.tmp`, file);
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
