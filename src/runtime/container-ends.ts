/**
 * Waiting for containers' ends: promises that resolve with a container's exit code once its end is recorded, and,
 * for a re-adopted container whose monitor is not this process's child, noticing its end by polling.
 */
import { processStartTime } from './launcher-process.js';
import type { ContainerState } from './types.js';

export class ContainerEnds {
  private readonly waiting = new Map<string, { promise: Promise<number | null>; resolve: (code: number | null) => void }>();
  private readonly pollers = new Map<string, NodeJS.Timeout>();

  /** Resolves with the container's exit code once settle() records it. */
  waitFor(id: string): Promise<number | null> {
    let entry = this.waiting.get(id);
    if (!entry) {
      let resolve!: (code: number | null) => void;
      const promise = new Promise<number | null>((r) => (resolve = r));
      entry = { promise, resolve };
      this.waiting.set(id, entry);
    }
    return entry.promise;
  }

  settle(id: string, code: number | null): void {
    this.waiting.get(id)?.resolve(code);
  }

  /** A container started again: its last end is forgotten. */
  forget(id: string): void {
    this.waiting.delete(id);
  }

  /** Calls ended once the container's first process is gone (its pid no longer that process, by start time). */
  watchByPolling(state: ContainerState, ended: () => void): void {
    const timer = setInterval(() => {
      if (state.pid && processStartTime(state.pid) === state.startTime) return;
      clearInterval(timer);
      this.pollers.delete(state.id);
      ended();
    }, 250);
    this.pollers.set(state.id, timer);
  }

  close(): void {
    for (const t of this.pollers.values()) clearInterval(t);
    this.pollers.clear();
  }
}
