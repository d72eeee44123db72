/**
 * A refusal by the kernel, whichever layer met it (netlink, netns, sysctl): it keeps the errno, the operation, the
 * object and the kernel's own words. It lives below both src/netlink and src/netns so that neither imports the
 * other.
 */
import { TsnetError, type ErrorCode } from '../errors.js';
import { errnoDescription, errnoName } from './errno.js';

/** `NetlinkError: RTM_NEWLINK "veth3a": EEXIST (File exists)`; subclasses name the layer. */
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
