/** Maps items through an async function with at most `limit` calls running at once; results keep the items' order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * fn over the items, at most `limit` at once in a sliding window (a slow item does not hold up the ones after it,
 * as batches would), results in the items' order. After a failure no new item starts, and the first failure is
 * thrown once every started call has settled, so that a rollback after it sees everything they made.
 */
export async function mapUntilFailure<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  const state: { next: number; failure?: { err: unknown } } = { next: 0 };
  const worker = async (): Promise<void> => {
    while (!state.failure && state.next < items.length) {
      const i = state.next++;
      try {
        out[i] = await fn(items[i]!);
      } catch (err) {
        state.failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (state.failure) throw state.failure.err;
  return out;
}
