/** Errors of the netlink layer: kernel refusals keep the errno, the operation, the object and the kernel's words. */
import { TsnetError, type ErrorCode } from '../errors.js';
import { MESSAGE_TYPE_NAMES } from './constants.js';
import { errnoDescription, errnoName } from './errno.js';

export const messageTypeName = (type: number): string => MESSAGE_TYPE_NAMES[type] ?? `message type ${type}`;

/**
 * A refusal by the kernel: `NetlinkError: RTM_NEWLINK "veth3a": EEXIST (File exists)`.
 * Subclasses name the layer (netlink, netns); all keep errno, operation, object and the kernel's message.
 */
export class KernelError extends TsnetError {
  /** Positive errno, e.g. 17. */
  readonly errno: number;
  /** Symbolic errno, e.g. "EEXIST". */
  readonly errnoCode: string;
  /** The operation, e.g. "RTM_NEWLINK", or a native call such as "socket". */
  readonly op: string;
  /** What the operation was on, e.g. an interface name; empty when it names nothing. */
  readonly object: string;
  /** The kernel's extended ACK message, when it gave one. */
  readonly extack: string | undefined;

  constructor(code: ErrorCode, op: string, object: string, errno: number, extack?: string) {
    const what = object ? `${op} ${JSON.stringify(object)}` : op;
    const why = `${errnoName(errno)} (${errnoDescription(errno)})`;
    super(code, `${what}: ${why}${extack ? `: ${extack}` : ''}`);
    this.errno = errno;
    this.errnoCode = errnoName(errno);
    this.op = op;
    this.object = object;
    this.extack = extack;
  }
}

export class NetlinkError extends KernelError {
  constructor(op: string, object: string, errno: number, extack?: string) {
    super('TSNET_ERR_NETLINK', op, object, errno, extack);
  }
}

/** Raised by a pipelined request when any of its messages failed; `results` says what each one did. */
export class NetlinkBatchError extends TsnetError {
  constructor(
    readonly errors: readonly NetlinkError[],
    readonly results: readonly PromiseSettledResult<unknown>[],
  ) {
    const first = errors[0];
    super('TSNET_ERR_NETLINK', first ? first.message : 'netlink batch failed', { cause: first });
  }
}
