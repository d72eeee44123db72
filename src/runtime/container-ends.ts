/**
 * Waiting for containers' ends: promises that resolve with a container's exit code once its end is recorded, and,
 * for a re-adopted container whose monitor is not this process's child, noticing its end by polling.
 */
import { processStartTime } from './launcher-process.js';
import type { ContainerState } from './types.js';

export class ContainerEnds {
  private readonly waiting = new Map<string, { promise: Promise<number | null>; resolve: (code: number | null) => void }>();
  private readonly pollers = new Map<string, { timer: NodeJS.Timeout; check: () => void }>();

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

  /**
   * Calls ended once the container is over: its monitor wrote the exit file, or its first process is gone (its pid
   * no longer that process, by start time). Checked every 250 ms, and at once by checkNow().
   */
  watchByPolling(state: ContainerState, ended: () => void, exitWritten: () => boolean): void {
    const check = (): void => {
      if (!exitWritten() && state.pid && processStartTime(state.pid) === state.startTime) return;
      clearInterval(timer);
      this.pollers.delete(state.id);
      ended();
    };
    const timer = setInterval(check, 250);
    this.pollers.set(state.id, { timer, check });
  }

  /**
   * Checks the polled containers now (all, or one): a reader of their state (inspect, ps) sees an end that has
   * happened, not the one the next poll would find (an attach ends when the monitor does, up to a poll earlier).
   */
  checkNow(id?: string): void {
    if (id === undefined) for (const p of [...this.pollers.values()]) p.check();
    else this.pollers.get(id)?.check();
  }

  close(): void {
    for (const p of this.pollers.values()) clearInterval(p.timer);
    this.pollers.clear();
  }
}
