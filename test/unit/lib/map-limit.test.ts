/** Mapping with a bounded number of calls at once: the window, the order of results, and what a failure stops. */
import { describe, expect, it } from 'vitest';
import { mapLimit, mapLimitEach } from '../../../src/lib/map-limit.js';

const tick = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('mapLimit', () => {
  it('keeps at most the limit running, starts the next as soon as one ends, and keeps the order of results', async () => {
    let running = 0;
    let most = 0;
    const ended: number[] = [];
    const out = await mapLimit([60, 5, 6, 7, 8], 2, async (ms) => {
      most = Math.max(most, ++running);
      await tick(ms);
      running--;
      ended.push(ms);
      return ms * 2;
    });
    expect(out).toEqual([120, 10, 12, 14, 16]);
    expect(most).toBe(2);
    // The short ones went on one after another while the long one ran: a window, not batches.
    expect(ended).toEqual([5, 6, 7, 8, 60]);
  });

  it('starts nothing after a failure, and throws the first failure once every started call has settled', async () => {
    const settled: number[] = [];
    const started: number[] = [];
    const run = mapLimit([1, 2, 3, 4, 5, 6], 3, async (n) => {
      started.push(n);
      await tick(n === 2 ? 1 : 20);
      settled.push(n);
      if (n === 2 || n === 3) throw new Error(`item ${n} failed`);
      return n;
    });
    await expect(run).rejects.toThrow('item 2 failed');
    expect(started).toEqual([1, 2, 3]);
    expect(settled.sort()).toEqual([1, 2, 3]);
  });
});

describe('mapLimitEach', () => {
  it("settles each item's own result as soon as it is done, within the limit", async () => {
    let running = 0;
    let most = 0;
    const each = mapLimitEach([30, 5, 6], 2, async (ms) => {
      most = Math.max(most, ++running);
      await tick(ms);
      running--;
      return ms;
    });
    const first = await Promise.race(each.map((p, i) => p.then(() => i)));
    expect(first).toBe(1);
    expect(await Promise.all(each)).toEqual([30, 5, 6]);
    expect(most).toBe(2);
  });

  it('after a failure, rejects the items not started with it, and keeps what the others made', async () => {
    const started: number[] = [];
    const each = mapLimitEach([1, 2, 3, 4], 2, async (n) => {
      started.push(n);
      await tick(n === 2 ? 1 : 20);
      if (n === 2) throw new Error('item 2 failed');
      return n;
    });
    const outcomes = await Promise.allSettled(each);
    expect(started).toEqual([1, 2]);
    expect(outcomes.map((o) => (o.status === 'fulfilled' ? o.value : (o.reason as Error).message))).toEqual([
      1,
      'item 2 failed',
      'item 2 failed',
      'item 2 failed',
    ]);
  });
});
