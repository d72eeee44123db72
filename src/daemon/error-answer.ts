/**
 * What the API answers for an error: its status and { code, message }, from the error catalog for tsnet's own
 * errors and from fastify for a request it refused. A failure of tsnet's (5xx) is logged with a correlation id, which
 * the message carries, so that a user can find it in the log.
 */
import type { FastifyBaseLogger, FastifyError } from 'fastify';
import { NoSpaceError, TsnetError, isNoSpace } from '../errors.js';

export interface ErrorAnswer {
  readonly status: number;
  readonly body: { readonly code: string; readonly message: string };
}

/** `what`: the request or the part of it that failed (a full disk is said as such, naming it). */
export function errorAnswer(thrown: unknown, what: string, correlationId: string, log: FastifyBaseLogger): ErrorAnswer {
  // A full disk is said as such, whichever layer met it (the change itself has been rolled back).
  const err = isNoSpace(thrown) && !(thrown instanceof TsnetError && thrown.code === 'TSNET_ERR_NO_SPACE') ? new NoSpaceError(what, thrown) : thrown;
  if (err instanceof TsnetError) {
    if (err.status >= 500) log.error({ err, correlationId }, err.message);
    return { status: err.status, body: { code: err.code, message: err.status >= 500 ? `${err.message} (correlation id ${correlationId})` : err.message } };
  }
  const fe = err as Partial<FastifyError>;
  if (fe.validation || (fe.statusCode !== undefined && fe.statusCode < 500)) {
    return { status: fe.statusCode ?? 400, body: { code: 'TSNET_ERR_INVALID_ARGUMENT', message: fe.message ?? String(err) } };
  }
  log.error({ err, correlationId }, 'internal error');
  const message = err instanceof Error ? err.message : String(err);
  return { status: 500, body: { code: 'TSNET_ERR_INTERNAL', message: `internal error (correlation id ${correlationId}): ${message}` } };
}
