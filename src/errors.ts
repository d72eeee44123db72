/**
 * tsnet's error catalog: every error the project raises carries a stable code, an HTTP status for the API and a
 * message that says what failed, on what, and why. Lower layers (netlink, netns) subclass TsnetError.
 */

export const ErrorCodes = {
  TSNET_ERR_INVALID_ARGUMENT: 400,
  TSNET_ERR_COMMAND_NOT_FOUND: 400,
  TSNET_ERR_COMMAND_NOT_EXECUTABLE: 400,
  TSNET_ERR_NETLINK: 500,
  TSNET_ERR_NETNS: 500,
  TSNET_ERR_NATIVE_UNAVAILABLE: 500,
  TSNET_ERR_NOT_FOUND: 404,
  TSNET_ERR_CONFLICT: 409,
  TSNET_ERR_POOL_EXHAUSTED: 503,
  TSNET_ERR_POOL_OVERLAP: 409,
  TSNET_ERR_NETWORK_NOT_FOUND: 404,
  TSNET_ERR_NETWORK_EXISTS: 409,
  TSNET_ERR_NETWORK_IN_USE: 409,
  TSNET_ERR_PORT_IN_USE: 409,
  TSNET_ERR_ENDPOINT_NOT_FOUND: 404,
  TSNET_ERR_SANDBOX_NOT_FOUND: 404,
  TSNET_ERR_FIREWALL: 500,
  TSNET_ERR_STORE: 500,
  TSNET_ERR_NO_SPACE: 507,
  TSNET_ERR_ROLLBACK: 500,
  TSNET_ERR_INTERNAL: 500,
  /** An image registry could not be reached, or answered with an error or with content that fails its digest. */
  TSNET_ERR_REGISTRY: 502,
  /** An image registry refused the credentials given (or asked for some and none were given). */
  TSNET_ERR_UNAUTHORIZED: 401,
  /** The cluster store (etcd) of global networks cannot be reached: global operations fail, local ones go on. */
  TSNET_ERR_CLUSTER_UNAVAILABLE: 503,
  /** Raised by the client, never answered by the API: no daemon listens on the socket. */
  TSNET_ERR_DAEMON_UNREACHABLE: 503,
  /** Raised by the client: the socket's mode does not let this user in. */
  TSNET_ERR_PERMISSION_DENIED: 403,
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

export class TsnetError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }

  get status(): number {
    return ErrorCodes[this.code];
  }
}

/** Input that would be rejected anyway: refused before any system call. */
export class InvalidArgumentError extends TsnetError {
  constructor(message: string) {
    super('TSNET_ERR_INVALID_ARGUMENT', message);
  }
}

/** Whether err (or what it wraps) is a full filesystem: ENOSPC or EDQUOT from a file call, SQLITE_FULL. */
export function isNoSpace(err: unknown): boolean {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'SQLITE_FULL' || code === 'TSNET_ERR_NO_SPACE') return true;
  }
  return false;
}

/** A change refused because the filesystem holding tsnet's state is full; what was half made has been undone. */
export class NoSpaceError extends TsnetError {
  constructor(what: string, cause: unknown) {
    super('TSNET_ERR_NO_SPACE', `${what}: no space left on the device that holds tsnet's state (${errorMessage(cause)})`, { cause });
  }
}

/** The message of anything thrown. */
export const errorMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err));
