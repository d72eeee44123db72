/**
 * Sandbox creations asked for at about the same time go in one operation: the requests that arrive while the
 * controller's queue is busy wait together, and the first of them to reach the queue takes them all and makes their
 * sandboxes side by side (the namespaces built on threads of their own, the loopback requests in flight together),
 * so that a lab's nodes or many `run`s do not each hold the queue for a namespace's making. Each caller gets its own
 * outcome: one that fails (and rolls back what it made) does not fail the others. A batch takes at most 64
 * (QueuedBatch's cap), so a thousand `run`s at once answer 64 at a time, not all at the end.
 */
import { InvalidArgumentError } from '../../errors.js';
import { QueuedBatch } from '../queued-batch.js';
import type { SandboxRecord } from '../types.js';
import type { SandboxCreateRequest } from './lifecycle.js';

export class SandboxCreateBatch {
  private readonly batch: QueuedBatch<SandboxCreateRequest, SandboxRecord>;

  constructor(
    /** Runs an operation on the controller's queue. */
    enqueue: (op: () => Promise<void>) => Promise<void>,
    /** Creates one sandbox (on the queue, alongside the others of its batch), rolling back what it made if it fails. */
    private readonly createOne: (req: SandboxCreateRequest) => Promise<SandboxRecord>,
  ) {
    this.batch = new QueuedBatch(enqueue, (reqs) => this.createMany(reqs));
  }

  /** Resolves with the sandbox once made, together with whatever other creations were asked meanwhile. */
  create(req: SandboxCreateRequest): Promise<SandboxRecord> {
    return this.batch.submit(req);
  }

  private createMany(reqs: readonly SandboxCreateRequest[]): Promise<PromiseSettledResult<SandboxRecord>[]> {
    // Two requests for one id in a batch would both pass the check for a duplicate: the later ones are refused here.
    const ids = new Set<string>();
    const run = reqs.map((req) => {
      if (req.id !== undefined && ids.has(req.id)) return Promise.reject(new InvalidArgumentError(`invalid or duplicate sandbox id "${req.id}"`));
      if (req.id !== undefined) ids.add(req.id);
      return this.createOne(req);
    });
    return Promise.allSettled(run);
  }
}
