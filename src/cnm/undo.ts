/**
 * Atomic operations: validate first, then apply step by step, pushing how to undo each step; on failure run the
 * undo steps in reverse and rethrow. Undo goes on past failures of its own and reports every one of them.
 */
import { TsnetError, errorMessage } from '../errors.js';

interface Step {
  readonly what: string;
  readonly run: () => unknown;
}

/** An operation failed and rolling it back failed too: `errors` holds the original error, then each undo failure. */
export class RollbackError extends TsnetError {
  readonly errors: readonly unknown[];

  constructor(
    readonly original: unknown,
    failures: readonly { what: string; err: unknown }[],
  ) {
    const undone = failures.map((f) => `could not ${f.what}: ${errorMessage(f.err)}`).join('; ');
    super('TSNET_ERR_ROLLBACK', `${errorMessage(original)} (and rolling back failed: ${undone})`, {
      cause: new AggregateError(
        failures.map((f) => f.err),
        `could not undo: ${failures.map((f) => f.what).join(', ')}`,
      ),
    });
    this.errors = [original, ...failures.map((f) => f.err)];
  }
}

export class UndoStack {
  private readonly steps: Step[] = [];

  /** what: the undo step in words ("delete bridge br-1"), named if it fails. */
  push(what: string, run: () => unknown): void {
    this.steps.push({ what, run });
  }

  /** Runs fn; if it throws, undoes what was pushed and rethrows: the original error, or a RollbackError. */
  static async run<T>(fn: (undo: UndoStack) => Promise<T>): Promise<T> {
    const undo = new UndoStack();
    try {
      return await fn(undo);
    } catch (err) {
      return undo.rollback(err);
    }
  }

  /** Undoes what was pushed, last first, because of err; throws err, or a RollbackError if an undo step failed. */
  async rollback(err: unknown): Promise<never> {
    const failures: { what: string; err: unknown }[] = [];
    for (const step of this.steps.splice(0).reverse()) {
      try {
        await step.run();
      } catch (undoErr) {
        failures.push({ what: step.what, err: undoErr });
      }
    }
    if (failures.length > 0) throw new RollbackError(err, failures);
    throw err;
  }
}
