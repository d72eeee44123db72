/**
 * Requests of one kind asked for at about the same time (sandboxes made or removed, endpoints connected) go in one
 * operation of the controller: those that arrive while its queue is busy wait together, and the first of them to
 * reach the queue takes them all. The answers go out once the whole queued operation has ended, after what the
 * controller does once an operation is done (the cluster's announcements), as a caller of any other operation hears.
 */
export type Answers = (() => void)[];

export function runBatch(enqueue: (op: () => Promise<void>) => Promise<void>, flush: (answers: Answers) => Promise<void>): void {
  const answers: Answers = [];
  void enqueue(() => flush(answers))
    .catch(() => undefined)
    .then(() => answers.forEach((answer) => answer()));
}

interface Waiter<Req, Res> {
  readonly req: Req;
  resolve(result: Res): void;
  reject(err: unknown): void;
}

/** Requests done together by runMany, each caller answered with its own outcome. */
export class QueuedBatch<Req, Res> {
  private readonly waiting: Waiter<Req, Res>[] = [];

  constructor(
    /** Runs an operation on the controller's queue. */
    private readonly enqueue: (op: () => Promise<void>) => Promise<void>,
    /** Does the requests of a batch (on the queue): an outcome for each, in their order. */
    private readonly runMany: (reqs: readonly Req[]) => Promise<PromiseSettledResult<Res>[]>,
    /**
     * Requests a batch takes at most; the rest go in the next one. Every caller of a batch waits for all of it, so 64
     * bounds that wait (64 attaches, some 150 ms here) where the batch's gain has long been had.
     */
    private readonly maxBatch = 64,
  ) {}

  /** Resolves with the request's result once done, together with whatever other requests were asked meanwhile. */
  submit(req: Req): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      this.waiting.push({ req, resolve, reject });
      // The first request of a batch queues its flush; later ones ride along until it starts.
      if (this.waiting.length === 1) runBatch(this.enqueue, (answers) => this.flush(answers));
    });
  }

  private async flush(answers: Answers): Promise<void> {
    const batch = this.waiting.splice(0, this.maxBatch);
    if (this.waiting.length > 0) runBatch(this.enqueue, (next) => this.flush(next));
    try {
      const outcomes = await this.runMany(batch.map((w) => w.req));
      outcomes.forEach((o, i) => answers.push(() => (o.status === 'fulfilled' ? batch[i]!.resolve(o.value) : batch[i]!.reject(o.reason))));
    } catch (err) {
      // runMany failing as a whole (a bug, or the store gone) still answers every caller.
      for (const w of batch) answers.push(() => w.reject(err));
    }
  }
}
