import { afterEach, describe, expect, it, vi } from 'vitest';
import { SandboxDeleteBatch } from '../../../src/cnm/sandbox/delete-batch.js';
import { SerialQueue } from '../../../src/lib/serial-queue.js';

/** A queue, a set of sandboxes, and a record of every deleteMany call (its ids). */
function setup(ids: string[], failWhen: (ids: readonly string[]) => boolean = () => false) {
  const queue = new SerialQueue();
  const live = new Set(ids);
  const calls: string[][] = [];
  const batch = new SandboxDeleteBatch(
    (op) => queue.run(op),
    // As the controller's: an unknown id throws before anything is awaited.
    (many) => {
      calls.push([...many]);
      for (const id of many) if (!live.has(id)) throw new Error(`sandbox ${id} not found`);
      return removeLater(many);
    },
    (id) => live.has(id),
  );
  async function removeLater(many: readonly string[]): Promise<void> {
    await new Promise((r) => setTimeout(r, 5));
    if (failWhen(many)) throw new Error(`cannot delete ${many.join(',')}`);
    for (const id of many) live.delete(id);
  }
  return { queue, live, calls, batch };
}

describe('sandbox deletions asked for together', () => {
  it('go in one operation, and each caller learns its own outcome', async () => {
    const { batch, calls, live } = setup(['a', 'b', 'c', 'd']);
    await Promise.all(['a', 'b', 'c', 'd'].map((id) => batch.delete(id)));
    expect(calls).toEqual([['a', 'b', 'c', 'd']]);
    expect(live.size).toBe(0);
  });

  it('asked while the queue is busy, they wait for it and then go together', async () => {
    const { batch, calls, queue } = setup(['a', 'b', 'c']);
    let release!: () => void;
    const busy = queue.run(() => new Promise<void>((r) => (release = r)));
    const first = batch.delete('a');
    await new Promise((r) => setTimeout(r, 10));
    const rest = [batch.delete('b'), batch.delete('c'), batch.delete('b')];
    release();
    await Promise.all([busy, first, ...rest]);
    expect(calls).toEqual([['a', 'b', 'c']]);
  });

  it('an unknown sandbox fails alone; the others are deleted', async () => {
    const { batch, calls, live } = setup(['a', 'b']);
    const outcomes = await Promise.allSettled([batch.delete('a'), batch.delete('nope'), batch.delete('b')]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(String((outcomes[1] as PromiseRejectedResult).reason)).toMatch(/sandbox nope not found/u);
    expect(calls).toEqual([['nope'], ['a', 'b']]);
    expect(live.size).toBe(0);
  });

  it('a batch that fails is done again one by one, so that only the failing sandbox reports the failure', async () => {
    const { batch, calls, live } = setup(['a', 'bad', 'c'], (ids) => ids.includes('bad'));
    const outcomes = await Promise.allSettled([batch.delete('a'), batch.delete('bad'), batch.delete('c')]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(calls).toEqual([['a', 'bad', 'c'], ['a'], ['bad'], ['c']]);
    expect([...live]).toEqual(['bad']);
  });

  describe('held until many containers have ended', () => {
    afterEach(() => vi.useRealTimers());

    it('wait for the hold, then go in one operation, however they were spread', async () => {
      const { batch, calls, live } = setup(['a', 'b', 'c']);
      let ended!: () => void;
      batch.hold(new Promise<void>((r) => (ended = r)));
      const a = batch.delete('a');
      await new Promise((r) => setTimeout(r, 10)); // unheld, 'a' would have gone alone by now
      const rest = [batch.delete('b'), batch.delete('c')];
      expect(calls).toEqual([]);
      ended();
      await Promise.all([a, ...rest]);
      expect(calls).toEqual([['a', 'b', 'c']]);
      expect(live.size).toBe(0);
    });

    it('go once every hold has settled, a failed one too', async () => {
      const { batch, calls } = setup(['a', 'b']);
      let first!: () => void;
      let second!: (err: Error) => void;
      batch.hold(new Promise<void>((r) => (first = r)));
      batch.hold(new Promise<void>((_, reject) => (second = reject)));
      const both = [batch.delete('a'), batch.delete('b')];
      first();
      await new Promise((r) => setTimeout(r, 10));
      expect(calls).toEqual([]);
      second(new Error('a container that could not be killed'));
      await Promise.all(both);
      expect(calls).toEqual([['a', 'b']]);
    });

    it('a hold that never settles keeps them waiting two seconds at most', async () => {
      vi.useFakeTimers();
      const { batch, calls } = setup(['a']);
      batch.hold(new Promise<void>(() => undefined));
      const a = batch.delete('a');
      await vi.advanceTimersByTimeAsync(1999);
      expect(calls).toEqual([]);
      await vi.advanceTimersByTimeAsync(1);
      expect(calls).toEqual([['a']]);
      await vi.advanceTimersByTimeAsync(5);
      await a;
    });

    it('a deletion queued before the hold goes as it would', async () => {
      const { batch, calls } = setup(['a', 'b']);
      const a = batch.delete('a');
      let ended!: () => void;
      batch.hold(new Promise<void>((r) => (ended = r)));
      await a;
      expect(calls).toEqual([['a']]);
      const b = batch.delete('b');
      await new Promise((r) => setTimeout(r, 10));
      expect(calls).toEqual([['a']]);
      ended();
      await b;
      expect(calls).toEqual([['a'], ['b']]);
    });
  });
});
