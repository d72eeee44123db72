/**
 * Containers' state files (two slots each, written in turn and in place: see state-slots.ts), and read back at
 * open. A state that must not be lost (a container's end) is kept in memory when the disk is full and saved again
 * every second until space returns: the exit handler never throws.
 */
import { readdirSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { SLOT_FILES, readSlots, slotPath, writeSlot, type SlotIndex } from './state-slots.js';
import type { ContainerState } from './types.js';

export class StateFiles {
  /** Containers whose state could not be saved yet, with whether each still exists. */
  private readonly unsaved = new Map<string, { state: ContainerState; exists: () => boolean }>();
  private retryTimer: NodeJS.Timeout | undefined;
  /** Each container's last save number and the slot its next save overwrites. */
  private readonly slots = new Map<string, { seq: number; next: SlotIndex }>();

  constructor(
    private readonly dirOf: (id: string) => string,
    private readonly onBackgroundError: (what: string, err: unknown) => void,
  ) {}

  /** Saves counted per container: an asynchronous save that a later one overtook is not put in place. */
  private readonly saves = new Map<string, number>();

  save(state: ContainerState): void {
    this.saves.set(state.id, (this.saves.get(state.id) ?? 0) + 1);
    this.write(state);
  }

  private write(state: ContainerState): void {
    const { seq, next } = this.slots.get(state.id) ?? { seq: 0, next: 0 };
    // A failed write may have torn its slot: the other keeps the last state, and the next save tries this one again.
    writeSlot(this.dirOf(state.id), next, seq + 1, state);
    this.slots.set(state.id, { seq: seq + 1, next: next === 0 ? 1 : 0 });
  }

  /**
   * The same, with the slots' files made first off the event loop's thread where they do not exist yet (a new
   * container's: under a lab's load, a new file costs the kernel milliseconds); not saved when a later save overtook it
   * meanwhile (or the container was removed).
   */
  async saveAsync(state: ContainerState): Promise<void> {
    const n = (this.saves.get(state.id) ?? 0) + 1;
    this.saves.set(state.id, n);
    const dir = this.dirOf(state.id);
    if (!this.slots.has(state.id)) await Promise.all(SLOT_FILES.map((_, i) => makeFile(slotPath(dir, i as SlotIndex))));
    if (this.saves.get(state.id) === n) this.write(state);
  }

  /**
   * The states saved in the containers' folder. A folder with no whole state (a create a crash cut short before
   * its first save completed) is removed.
   */
  readAll(folder: string): ContainerState[] {
    return readdirSync(folder).flatMap((id) => {
      const read = readSlots(join(folder, id));
      if (!read) {
        rmSync(join(folder, id), { recursive: true, force: true });
        return [];
      }
      this.slots.set(read.state.id, { seq: read.seq, next: read.next });
      return [read.state];
    });
  }

  /** Forgets a removed container. */
  forget(id: string): void {
    this.saves.delete(id);
    this.slots.delete(id);
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

/** An empty file where there is none (its contents, if any, are left as they are). */
async function makeFile(path: string): Promise<void> {
  await (await open(path, 'a', 0o600)).close();
}
