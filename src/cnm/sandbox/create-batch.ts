/**
 * Sandbox creations asked for at about the same time go in one operation: the requests that arrive while the
 * controller's queue is busy wait together, and the first of them to reach the queue takes them all and makes their
 * sandboxes side by side (the namespaces built on threads of their own, the loopback requests in flight together),
 * so that a lab's nodes or many `run`s do not each hold the queue for a namespace's making. Each caller gets its own
 * outcome: one that fails (and rolls back what it made) does not fail the others.
 */
import { InvalidArgumentError } from '../../errors.js';
import type { SandboxRecord } from '../types.js';
import type { SandboxCreateRequest } from './lifecycle.js';
import { runBatch, type Answers } from './queued-batch.js';

interface Waiter {
  readonly req: SandboxCreateRequest;
  resolve(record: SandboxRecord): void;
  reject(err: unknown): void;
}

export class SandboxCreateBatch {
  private waiting: Waiter[] = [];

  constructor(
    /** Runs an operation on the controller's queue. */
    private readonly enqueue: (op: () => Promise<void>) => Promise<void>,
    /** Creates one sandbox (on the queue, alongside the others of its batch), rolling back what it made if it fails. */
    private readonly createOne: (req: SandboxCreateRequest) => Promise<SandboxRecord>,
  ) {}

  /** Resolves with the sandbox once made, together with whatever other creations were asked meanwhile. */
  create(req: SandboxCreateRequest): Promise<SandboxRecord> {
    return new Promise<SandboxRecord>((resolve, reject) => {
      this.waiting.push({ req, resolve, reject });
      // The first request of a batch queues its flush; later ones ride along until it starts.
      if (this.waiting.length === 1) runBatch(this.enqueue, (answers) => this.flush(answers));
    });
  }

  private async flush(answers: Answers): Promise<void> {
    const batch = this.waiting;
    this.waiting = [];
    // Two requests for one id in a batch would both pass the check for a duplicate: the later ones are refused here.
    const ids = new Set<string>();
    const run = batch.map((w) => {
      if (w.req.id !== undefined && ids.has(w.req.id)) return Promise.reject(new InvalidArgumentError(`invalid or duplicate sandbox id "${w.req.id}"`));
      if (w.req.id !== undefined) ids.add(w.req.id);
      return this.createOne(w.req);
    });
    const outcomes = await Promise.allSettled(run);
    outcomes.forEach((o, i) => answers.push(() => (o.status === 'fulfilled' ? batch[i]!.resolve(o.value) : batch[i]!.reject(o.reason))));
  }
}
