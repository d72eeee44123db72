/** A promise's outcome as a value, as Promise.allSettled gives it, for work done one after another. */
export const settled = <T>(work: Promise<T>): Promise<PromiseSettledResult<T>> =>
  work.then(
    (value) => ({ status: 'fulfilled', value }),
    (reason: unknown) => ({ status: 'rejected', reason }),
  );

/** The value of an outcome, or its reason thrown: the one answer of a batch of one. */
export function valueOf<T>(outcome: PromiseSettledResult<T>): T {
  if (outcome.status === 'rejected') throw outcome.reason;
  return outcome.value;
}

/** The outcomes of count pieces of work that one error failed together. */
export const allRejected = <T>(count: number, reason: unknown): PromiseSettledResult<T>[] =>
  Array.from({ length: count }, () => ({ status: 'rejected', reason }));
