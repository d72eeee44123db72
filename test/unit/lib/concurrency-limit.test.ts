import { describe, expect, it } from 'vitest';
import { ConcurrencyLimit } from '../../../src/lib/concurrency-limit.js';

describe('a concurrency limit', () => {
  it('runs at most its limit at once, the others in the order they came, and frees a place on a failure too', async () => {
    const gate = new ConcurrencyLimit(3);
    let running = 0;
    let most = 0;
    const started: number[] = [];
    const calls = Array.from({ length: 10 }, (_, i) =>
      gate.run(async () => {
        started.push(i);
        most = Math.max(most, ++running);
        await new Promise((r) => setTimeout(r, 2 + (i % 3)));
        running--;
        if (i === 4) throw new Error('call 4 failed');
        return i;
      }),
    );
    const outcomes = await Promise.allSettled(calls);
    expect(most).toBe(3);
    expect(started).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(outcomes.filter((o) => o.status === 'rejected')).toHaveLength(1);
    expect(outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []))).toEqual([0, 1, 2, 3, 5, 6, 7, 8, 9]);
    // Every place is free again: as many as the limit start at once.
    let now = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 3 }, () => gate.run(async () => ((peak = Math.max(peak, ++now)), await new Promise((r) => setTimeout(r, 2)), now--))),
    );
    expect(peak).toBe(3);
  });
});
