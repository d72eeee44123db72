/**
 * Sandbox deletions asked for at about the same time go in one operation: the requests that arrive while the
 * controller's queue is busy wait together, and the first of them to reach the queue takes them all, so that the
 * kernel's cost of removing veths (an RCU grace period per request) and the store's transaction are paid once for
 * the lot. Each caller still gets its own outcome: if the batch fails, its sandboxes are deleted one by one.
 * A removal of many containers holds the deletions until all of them have ended (see hold).
 */
import { runBatch, type Answers } from '../queued-batch.js';

/** The longest a hold keeps deletions waiting, whatever it waits for (a stop's timeout may be long). */
const HOLD_MAX_MS = 2000;

interface Waiter {
  resolve(): void;
  reject(err: unknown): void;
}

export class SandboxDeleteBatch {
  private readonly waiting = new Map<string, Waiter[]>();
  /** Holds not yet let go: while there is one, a deletion asked for queues no flush of its own. */
  private holds = 0;

  constructor(
    /** Runs an operation on the controller's queue. */
    private readonly enqueue: (op: () => Promise<void>) => Promise<void>,
    /** Deletes the sandboxes of these ids in one operation (on the queue); throws if any is unknown. */
    private readonly deleteMany: (ids: readonly string[]) => Promise<void>,
    /** Whether a sandbox of this id exists now (read on the queue). */
    private readonly exists: (id: string) => boolean,
  ) {}

  /** Resolves once the sandbox is deleted, together with whatever other deletions were asked meanwhile. */
  delete(id: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const same = this.waiting.get(id);
      if (same) return void same.push({ resolve, reject });
      this.waiting.set(id, [{ resolve, reject }]);
      // The first request of a batch queues its flush; later ones ride along until it starts.
      if (this.waiting.size === 1 && this.holds === 0) this.queueFlush();
    });
  }

  /**
   * Deletions asked for until `until` settles (or HOLD_MAX_MS pass) wait for it and then go together. Many
   * containers removed or stopped at once end over some tens of milliseconds, and each one's end releases its
   * sandbox: without a hold they would go in waves, each paying the kernel's grace periods again. A flush queued
   * before the hold runs as it would. `until` must not wait for a sandbox deletion itself.
   */
  hold(until: Promise<unknown>): void {
    this.holds++;
    let timer: NodeJS.Timeout | undefined;
    const cap = new Promise<void>((resolve) => (timer = setTimeout(resolve, HOLD_MAX_MS).unref()));
    void Promise.race([until, cap])
      .catch(() => undefined)
      .then(() => {
        clearTimeout(timer);
        this.holds--;
        if (this.holds === 0 && this.waiting.size > 0) this.queueFlush();
      });
  }

  private queueFlush(): void {
    runBatch(this.enqueue, (answers) => this.flush(answers));
  }

  private async flush(answers: Answers): Promise<void> {
    const batch = [...this.waiting];
    this.waiting.clear();
    const known = batch.filter(([id]) => this.exists(id));
    // An unknown id gets its own error (deleteMany names it), and does not fail the others.
    for (const [id, waiters] of batch.filter(([id]) => !this.exists(id))) await this.settle(waiters, this.attempt([id]), answers);
    if (known.length === 0) return;
    try {
      await this.attempt(known.map(([id]) => id));
      for (const [, waiters] of known) for (const w of waiters) answers.push(() => w.resolve());
    } catch {
      for (const [id, waiters] of known) await this.settle(waiters, this.exists(id) ? this.attempt([id]) : Promise.resolve(), answers);
    }
  }

  /** deleteMany, its synchronous throws (an unknown id) turned into a rejection. */
  private async attempt(ids: readonly string[]): Promise<void> {
    await this.deleteMany(ids);
  }

  private async settle(waiters: readonly Waiter[], outcome: Promise<void>, answers: Answers): Promise<void> {
    try {
      await outcome;
      for (const w of waiters) answers.push(() => w.resolve());
    } catch (err) {
      for (const w of waiters) answers.push(() => w.reject(err));
    }
  }
}
