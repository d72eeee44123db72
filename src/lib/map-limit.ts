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

/**
 * The same, but each item's own result as soon as that item is done, so that the caller can go on with one item
 * while others run; after a failure, the items not yet started reject with it.
 */
export function mapLimitEach<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R>[] {
  const each = items.map(() => {
    const s = {} as { promise: Promise<R>; resolve: (r: R) => void; reject: (err: unknown) => void };
    s.promise = new Promise<R>((resolve, reject) => Object.assign(s, { resolve, reject }));
    return s;
  });
  mapLimit(items, limit, async (item, i) => {
    try {
      const r = await fn(item, i);
      each[i]!.resolve(r);
      return r;
    } catch (err) {
      each[i]!.reject(err);
      throw err;
    }
  }).catch((err: unknown) => {
    for (const s of each) s.reject(err); // the ones settled already stay as they are
  });
  return each.map((s) => s.promise);
}
