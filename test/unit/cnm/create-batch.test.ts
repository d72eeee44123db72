import { describe, expect, it } from 'vitest';
import { SandboxCreateBatch } from '../../../src/cnm/sandbox/create-batch.js';
import type { SandboxCreateRequest } from '../../../src/cnm/sandbox/lifecycle.js';
import type { SandboxRecord } from '../../../src/cnm/types.js';
import { SerialQueue } from '../../../src/lib/serial-queue.js';

/** A queue, the operations run on it (how many creations each held), and the creations under way at most. */
function setup(failFor: string[] = []) {
  const queue = new SerialQueue();
  const ops: number[] = [];
  let running = 0;
  let most = 0;
  let inOp = 0;
  const batch = new SandboxCreateBatch(
    async (op) =>
      queue.run(async () => {
        inOp = 0;
        await op();
        ops.push(inOp);
      }),
    async (req: SandboxCreateRequest) => {
      inOp++;
      most = Math.max(most, ++running);
      await new Promise((r) => setTimeout(r, 5));
      running--;
      if (failFor.includes(req.containerId)) throw new Error(`cannot make ${req.containerId}`);
      return { id: req.id ?? req.containerId, containerId: req.containerId } as SandboxRecord;
    },
  );
  return { queue, ops, batch, most: () => most };
}

describe('sandbox creations asked for together', () => {
  it('asked while the queue is busy, they wait for it, then are made side by side in one operation', async () => {
    const { batch, ops, queue, most } = setup();
    let release!: () => void;
    const busy = queue.run(() => new Promise<void>((r) => (release = r)));
    const made = ['a', 'b', 'c'].map((containerId) => batch.create({ containerId }));
    await new Promise((r) => setTimeout(r, 1)); // the queue has started the busy operation
    release();
    await busy;
    expect((await Promise.all(made)).map((r) => r.containerId)).toEqual(['a', 'b', 'c']);
    expect(ops).toEqual([3]);
    expect(most()).toBe(3);
    // One asked later goes in an operation of its own.
    await batch.create({ containerId: 'd' });
    await queue.run(() => Promise.resolve());
    expect(ops).toEqual([3, 1]);
  });

  it('take at most 64 in a batch: the rest go in the next, in the order asked', async () => {
    const { batch, ops, queue } = setup();
    let release!: () => void;
    const busy = queue.run(() => new Promise<void>((r) => (release = r)));
    const names = Array.from({ length: 70 }, (_, i) => `c${i}`);
    const made = names.map((containerId) => batch.create({ containerId }));
    await new Promise((r) => setTimeout(r, 1));
    release();
    await busy;
    expect((await Promise.all(made)).map((r) => r.containerId)).toEqual(names);
    expect(ops).toEqual([64, 6]);
  });

  it('give each caller its own outcome: one that fails does not fail the others', async () => {
    const { batch, ops } = setup(['b']);
    const outcomes = await Promise.allSettled(['a', 'b', 'c'].map((containerId) => batch.create({ containerId })));
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((outcomes[1] as PromiseRejectedResult).reason).toMatchObject({ message: 'cannot make b' });
    expect(ops).toEqual([3]);
  });

  it('refuse a second request for one id in the same batch (both would pass the check for a duplicate)', async () => {
    const { batch } = setup();
    const id = 'e'.repeat(64);
    const outcomes = await Promise.allSettled([batch.create({ containerId: 'x', id }), batch.create({ containerId: 'y', id })]);
    expect(outcomes[0]).toMatchObject({ status: 'fulfilled' });
    expect(outcomes[1]).toMatchObject({ status: 'rejected', reason: { code: 'TSNET_ERR_INVALID_ARGUMENT' } });
  });
});
