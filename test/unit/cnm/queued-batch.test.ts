/** Requests done together on a serial queue: batches, their caps, and each caller's own outcome. */
import { describe, expect, it } from 'vitest';
import { QueuedBatch } from '../../../src/cnm/queued-batch.js';
import { SerialQueue } from '../../../src/lib/serial-queue.js';

function setup(maxBatch?: number, runMany?: (reqs: readonly number[]) => Promise<PromiseSettledResult<number>[]>) {
  const queue = new SerialQueue();
  const batches: number[][] = [];
  const batch = new QueuedBatch<number, number>(
    (op) => queue.run(op),
    runMany ??
      (async (reqs) => {
        batches.push([...reqs]);
        return reqs.map((r) => (r < 0 ? { status: 'rejected', reason: new Error(`${r} refused`) } : { status: 'fulfilled', value: r * 10 }));
      }),
    maxBatch,
  );
  return { queue, batch, batches };
}

describe('requests done together', () => {
  it('takes the requests asked while the queue is busy in one batch, each caller with its own outcome', async () => {
    const { queue, batch, batches } = setup();
    let release!: () => void;
    const busy = queue.run(() => new Promise<void>((r) => (release = r)));
    const asked = [1, -2, 3].map((n) => batch.submit(n));
    await new Promise((r) => setTimeout(r, 1)); // the queue has started the busy operation
    release();
    await busy;
    expect(await Promise.allSettled(asked)).toEqual([
      { status: 'fulfilled', value: 10 },
      { status: 'rejected', reason: new Error('-2 refused') },
      { status: 'fulfilled', value: 30 },
    ]);
    expect(batches).toEqual([[1, -2, 3]]);
  });

  it('takes at most maxBatch requests a batch, in the order asked, the rest in the batches after', async () => {
    const { batch, batches } = setup(2);
    expect(await Promise.all([1, 2, 3, 4, 5].map((n) => batch.submit(n)))).toEqual([10, 20, 30, 40, 50]);
    expect(batches).toEqual([[1, 2], [3, 4], [5]]);
  });

  it('answers every caller when the batch fails as a whole', async () => {
    const { batch } = setup(undefined, () => Promise.reject(new Error('store gone')));
    const outcomes = await Promise.allSettled([batch.submit(1), batch.submit(2)]);
    expect(outcomes).toEqual([
      { status: 'rejected', reason: new Error('store gone') },
      { status: 'rejected', reason: new Error('store gone') },
    ]);
  });
});
