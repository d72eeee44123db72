/**
 * A netlink socket bound to one network namespace, with request/ACK matching by sequence number. Many requests
 * can be pipelined in one send(); their replies are matched back by sequence. Requests on one socket are
 * serialised, so concurrent callers never read each other's replies.
 */
import { TsnetError } from '../errors.js';
import { SerialQueue } from '../lib/serial-queue.js';
import {
  NETLINK_ROUTE,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_NOOP,
  NLMSG_OVERRUN,
  NLM_F_ACK,
  NLM_F_DUMP,
  NLM_F_DUMP_INTR,
  NLM_F_REQUEST,
  RTM_DELADDR,
  RTM_DELLINK,
  RTM_DELROUTE,
} from './constants.js';
import { NetlinkBatchError, NetlinkError, messageTypeName } from './errors.js';
import { decodeError, parseMessages, type NlMessage } from './message.js';
import { native } from '../native/library.js';

/** One request: how to encode it for a sequence number, and how to read its replies. */
export interface NetlinkRequest<T> {
  /** The message type, e.g. RTM_NEWLINK: named in errors. */
  readonly type: number;
  /** What the request is on (an interface name, an address), for error messages. */
  readonly object: string;
  /** A dump collects many replies until NLMSG_DONE; other requests are acknowledged. */
  readonly dump: boolean;
  /** A message the kernel does not answer (nfnetlink's batch begin and end): sent without NLM_F_ACK. */
  readonly unanswered?: boolean;
  /** The message bytes for this sequence number; NLM_F_REQUEST and NLM_F_ACK are added by the socket. */
  encode(seq: number, flags: number): Buffer;
  /** Turns the replies (all messages with this request's sequence, except the ACK) into the result. */
  parse(replies: readonly NlMessage[]): T;
}

export interface NetlinkSocketOptions {
  /** How long to wait for the kernel's answer before giving up (ms). */
  readonly timeoutMs?: number;
  /** Requests per send() in a pipeline: bounds the ACKs queued on the socket at once. */
  readonly maxPipeline?: number;
  /** The exchanges under way on the sockets of one owner (a controller): see NetlinkTraffic. */
  readonly traffic?: NetlinkTraffic;
}

/**
 * The exchanges under way on a set of sockets. One alone is sent from the event loop's thread, the quickest way for
 * a single change; while another is under way (many sandboxes made at once), the event loop has other work, and
 * the kernel's part of a request goes on a worker thread instead.
 */
export class NetlinkTraffic {
  inFlight = 0;
}

const RECEIVE_BUFFER = 4 * 1024 * 1024;
const SLOW_TYPES = new Set([RTM_DELLINK, RTM_DELADDR, RTM_DELROUTE]);
/** A batch this long keeps the kernel busy for milliseconds (a lab's links): worth a worker thread's hop. */
const LONG_BATCH = 16;
const DUMP_RETRIES = 8;

interface Pending {
  readonly request: NetlinkRequest<unknown>;
  readonly replies: NlMessage[];
  done: boolean;
  error?: NetlinkError;
}

/** Counters of one socket: how much it asked, and how long it spent inside the kernel's send and receive calls. */
export interface NetlinkSocketStats {
  sends: number;
  messages: number;
  kernelMs: number;
}

export class NetlinkSocket {
  readonly stats: NetlinkSocketStats = { sends: 0, messages: 0, kernelMs: 0 };
  private seq = Math.floor(Math.random() * 0x7fffffff);
  // Not zeroed: only the bytes a receive wrote are ever read (a zeroed 64 KiB costs a sandbox 0.4 ms in page faults).
  private readonly rx = Buffer.allocUnsafeSlow(64 * 1024);
  private readonly queue = new SerialQueue();
  private fd: number;
  private readonly timeoutMs: number;
  private readonly maxPipeline: number;

  private readonly traffic: NetlinkTraffic;

  private constructor(fd: number, options: NetlinkSocketOptions) {
    this.fd = fd;
    this.traffic = options.traffic ?? new NetlinkTraffic();
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.maxPipeline = options.maxPipeline ?? 128;
  }

  /** Opens a netlink socket (NETLINK_ROUTE unless said) inside the namespace pinned at nsPath (null: the caller's). */
  static open(nsPath: string | null, options: NetlinkSocketOptions = {}, protocol = NETLINK_ROUTE): NetlinkSocket {
    const fd = native().socketOpen(nsPath, protocol, RECEIVE_BUFFER);
    if (fd < 0) throw new NetlinkError('socket', nsPath ?? 'current namespace', -fd);
    return new NetlinkSocket(fd, options);
  }

  /** Runs fn with a new descriptor of the namespace this socket lives in (for IFLA_NET_NS_FD), closed afterwards. */
  async withNetnsFd<T>(fn: (fd: number) => Promise<T>): Promise<T> {
    const fd = native().socketNetns(this.fd);
    if (fd < 0) throw new NetlinkError('SIOCGSKNS', 'netlink socket', -fd);
    try {
      return await fn(fd);
    } finally {
      native().close(fd);
    }
  }

  get closed(): boolean {
    return this.fd < 0;
  }

  close(): void {
    if (this.fd < 0) return;
    native().close(this.fd);
    this.fd = -1;
  }

  /** Sends one request and returns its parsed result, or throws its NetlinkError. */
  async request<T>(request: NetlinkRequest<T>): Promise<T> {
    return this.serialised(async () => {
      const [pending] = await this.exchange([request]);
      if (!pending) throw new TsnetError('TSNET_ERR_INTERNAL', 'netlink: no result for a request');
      return settle(pending) as T;
    });
  }

  /**
   * Sends many requests in as few send() calls as possible and waits for all of their answers. The kernel
   * processes them in order and goes on after a failure, so every request is answered. Throws a
   * NetlinkBatchError, which carries every request's outcome, when any failed.
   */
  async pipeline(requests: readonly NetlinkRequest<unknown>[]): Promise<unknown[]> {
    return this.serialised(async () => {
      const pendings: Pending[] = [];
      for (let i = 0; i < requests.length; i += this.maxPipeline) {
        pendings.push(...(await this.exchange(requests.slice(i, i + this.maxPipeline))));
      }
      return outcomes(pendings);
    });
  }

  /**
   * Sends requests in one send() whatever their number, as an nf_tables transaction must be (the kernel applies
   * it whole or not at all), and waits for every answer. Throws a NetlinkBatchError when any failed.
   */
  async transaction(requests: readonly NetlinkRequest<unknown>[]): Promise<void> {
    await this.serialised(async () => outcomes(await this.exchange(requests)));
  }

  private serialised<T>(fn: () => Promise<T>): Promise<T> {
    return this.queue.run(fn);
  }

  private nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0 || 1;
    return this.seq;
  }

  private async exchange(requests: readonly NetlinkRequest<unknown>[]): Promise<Pending[]> {
    this.traffic.inFlight++;
    try {
      return await this.exchangeOnce(requests, this.traffic.inFlight > 1);
    } finally {
      this.traffic.inFlight--;
    }
  }

  private async exchangeOnce(requests: readonly NetlinkRequest<unknown>[], busy: boolean): Promise<Pending[]> {
    if (this.fd < 0) throw new TsnetError('TSNET_ERR_NETLINK', 'netlink socket is closed');
    for (let attempt = 0; ; attempt++) {
      const bySeq = new Map<number, Pending>();
      const pendings: Pending[] = [];
      const chunks: Buffer[] = [];
      for (const request of requests) {
        const seq = this.nextSeq();
        const flags = NLM_F_REQUEST | (request.dump ? NLM_F_DUMP : request.unanswered ? 0 : NLM_F_ACK);
        chunks.push(request.encode(seq, flags));
        const pending: Pending = { request, replies: [], done: request.unanswered === true };
        // An unanswered message still gets an error when the kernel refuses it (a batch nf_tables does not take).
        bySeq.set(seq, pending);
        pendings.push(pending);
      }
      const out = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      const t0 = performance.now();
      // The kernel handles a request inside sendto(); a deletion waits there for an RCU grace period (16-32 ms),
      // and a long batch works for milliseconds: neither may stall the event loop, they go through a worker thread.
      // (nfnetlink's batch end has RTM_DELLINK's number: unanswered messages are not rtnetlink's.)
      const slow = busy || requests.length >= LONG_BATCH || requests.some((r) => !r.unanswered && SLOW_TYPES.has(r.type));
      const sent = slow ? await native().sendAsync(this.fd, out, out.length) : native().send(this.fd, out, out.length);
      this.stats.kernelMs += performance.now() - t0;
      this.stats.sends++;
      this.stats.messages += requests.length;
      if (sent < 0) throw new NetlinkError('sendto', messageTypeName(requests[0]?.type ?? 0), -sent);
      let interrupted = false;
      let open = pendings.filter((p) => !p.done).length;
      while (open > 0) {
        for (const msg of parseMessages(await this.receive())) {
          const pending = bySeq.get(msg.header.seq);
          if (pending?.request.unanswered && msg.header.type === NLMSG_ERROR && refuses(pending, msg)) {
            // The kernel refused the whole batch at its start: nothing after it will be answered.
            open = 0;
            break;
          }
          if (!pending || pending.done) continue; // not ours (a late reply of an abandoned request)
          if (msg.header.flags & NLM_F_DUMP_INTR) interrupted = true;
          if (finish(pending, msg)) open--;
        }
      }
      // A dump interrupted by a concurrent change is inconsistent: ask again (as iproute2 and netlink libraries do).
      if (!interrupted || attempt >= DUMP_RETRIES) {
        if (interrupted) {
          throw new TsnetError('TSNET_ERR_NETLINK', `netlink dump interrupted ${DUMP_RETRIES + 1} times by concurrent changes`);
        }
        return pendings;
      }
    }
  }

  /** One datagram: taken at once when the kernel already queued it (the usual case), else awaited off-thread. */
  private async receive(): Promise<Buffer> {
    const t0 = performance.now();
    let n = native().recv(this.fd, this.rx, this.rx.length, 0);
    this.stats.kernelMs += performance.now() - t0;
    if (n === -11 /* EAGAIN */) n = await native().recvAsync(this.fd, this.rx, this.rx.length, this.timeoutMs);
    if (n === -11) throw new NetlinkError('recv', 'no answer from the kernel', 110 /* ETIMEDOUT */);
    if (n < 0) throw new NetlinkError('recv', '', -n);
    return this.rx.subarray(0, n);
  }
}

/** Records one reply; returns true when it completed the request. */
function finish(pending: Pending, msg: NlMessage): boolean {
  const { type } = msg.header;
  if (type === NLMSG_NOOP) return false;
  if (type === NLMSG_OVERRUN) {
    pending.error = new NetlinkError(messageTypeName(pending.request.type), pending.request.object, 105 /* ENOBUFS */);
  } else if (type === NLMSG_ERROR) {
    const err = decodeError(msg);
    if (err.error !== 0) {
      pending.error = new NetlinkError(messageTypeName(pending.request.type), pending.request.object, -err.error, err.extackMessage);
    }
  } else if (type === NLMSG_DONE) {
    // NLMSG_DONE of a dump may carry an error code too (an int right after the header).
    const code = msg.payload.length >= 4 ? msg.payload.readInt32LE(0) : 0;
    if (code < 0) pending.error = new NetlinkError(messageTypeName(pending.request.type), pending.request.object, -code);
  } else {
    // Copy: the receive buffer is reused for the next datagram.
    pending.replies.push({ header: msg.header, payload: Buffer.from(msg.payload) });
    return false;
  }
  pending.done = true;
  return true;
}

/** Records the kernel's refusal of an unanswered message; false for anything else. */
function refuses(pending: Pending, msg: NlMessage): boolean {
  const err = decodeError(msg);
  if (err.error === 0) return false;
  pending.error = new NetlinkError(messageTypeName(pending.request.type), pending.request.object, -err.error, err.extackMessage);
  return true;
}

/** Every request's result; a NetlinkBatchError, which carries every request's outcome, when any failed. */
function outcomes(pendings: readonly Pending[]): unknown[] {
  const errors = pendings.flatMap((p) => (p.error ? [p.error] : []));
  const results = pendings.map((p): PromiseSettledResult<unknown> =>
    p.error ? { status: 'rejected', reason: p.error } : { status: 'fulfilled', value: p.request.parse(p.replies) },
  );
  if (errors.length > 0) throw new NetlinkBatchError(errors, results);
  return results.map((r) => (r.status === 'fulfilled' ? r.value : undefined));
}

function settle(pending: Pending): unknown {
  if (pending.error) throw pending.error;
  return pending.request.parse(pending.replies);
}
