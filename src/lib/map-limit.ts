/**
 * Maps items through an async function with at most `limit` calls running at once, in a sliding window (a slow
 * item does not hold up the ones after it, as batches would); results keep the items' order. After a failure no
 * new call starts, and the first failure is thrown once every started call has settled, so that whatever handles
 * it (a rollback, an error message) sees everything they did.
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  const state: { next: number; failure?: { err: unknown } } = { next: 0 };
  const worker = async (): Promise<void> => {
    while (!state.failure && state.next < items.length) {
      const i = state.next++;
      try {
        out[i] = await fn(items[i]!, i);
      } catch (err) {
        state.failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (state.failure) throw state.failure.err;
  return out;
}
