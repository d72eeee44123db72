/** Errors of the netlink layer: kernel refusals keep the errno, the operation, the object and the kernel's words. */
import { TsnetError } from '../errors.js';
import { KernelError } from '../native/kernel-error.js';
import { MESSAGE_TYPE_NAMES } from './constants.js';

export { KernelError };

export const messageTypeName = (type: number): string => MESSAGE_TYPE_NAMES[type] ?? `message type ${type}`;

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
