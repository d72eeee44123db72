/**
 * How the CLI fails: one line, `tsnet: MESSAGE (CODE)`, and an exit status from the error's code, as Docker's CLI
 * does: 1 for any failure, except `run`, which exits 125 for a failure of the daemon's, 126 for a command that
 * cannot be executed and 127 for one that does not exist.
 */
import { ClientError } from '../client/client.js';

/** A failure with the exit status it calls for. */
export class CliFailure extends Error {
  constructor(
    readonly error: unknown,
    readonly exitStatus: number,
  ) {
    super(error instanceof Error ? error.message : String(error));
  }
}

const RUN_EXIT_STATUS: Readonly<Record<string, number>> = {
  TSNET_ERR_COMMAND_NOT_FOUND: 127,
  TSNET_ERR_COMMAND_NOT_EXECUTABLE: 126,
};

/** `tsnet run`'s exit status for an error: Docker's 125/126/127. */
export function runExitStatus(err: unknown): number {
  return err instanceof ClientError ? (RUN_EXIT_STATUS[err.code] ?? 125) : 125;
}

/** The line to print for an error, with its code where it has one. */
export function errorLine(err: unknown): string {
  const inner = err instanceof CliFailure ? err.error : err;
  const message = inner instanceof Error ? inner.message : String(inner);
  const code = inner instanceof ClientError ? inner.code : undefined;
  return `tsnet: ${message}${code ? ` (${code})` : ''}`;
}

export function exitStatusOf(err: unknown): number {
  return err instanceof CliFailure ? err.exitStatus : 1;
}

/** The stack to print with --debug. */
export function stackOf(err: unknown): string | undefined {
  const inner = err instanceof CliFailure ? err.error : err;
  return inner instanceof Error ? inner.stack : undefined;
}
