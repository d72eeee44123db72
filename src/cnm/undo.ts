/**
 * Atomic operations: validate first, then apply step by step, pushing how to undo each step; on failure run the
 * undo steps in reverse and rethrow. Undo is best effort: it goes on past failures of its own.
 */
export class UndoStack {
  private readonly steps: (() => unknown)[] = [];

  push(step: () => unknown): void {
    this.steps.push(step);
  }

  /** Runs fn; if it throws, undoes what was pushed and rethrows the original error. */
  static async run<T>(fn: (undo: UndoStack) => Promise<T>): Promise<T> {
    const undo = new UndoStack();
    try {
      return await fn(undo);
    } catch (err) {
      for (const step of undo.steps.reverse()) {
        try {
          await step();
        } catch {
          // Best effort: the original error is the one worth reporting; reconciliation mops up the rest.
        }
      }
      throw err;
    }
  }
}
