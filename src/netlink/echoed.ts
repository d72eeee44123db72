/**
 * One request answered at its echo, for a change the kernel makes visible well before it lets the sender go. A
 * link's deletion is one: the kernel takes the link out of its namespace (its addresses, routes and name go) and
 * announces it within milliseconds, then holds the sending thread in an RCU barrier while it frees the device
 * (20-40 ms here; nothing the sender can see changes meanwhile). Sent with NLM_F_ECHO on a socket of its own, on a
 * worker thread, the announcement comes back to that socket while the send is still under way: the caller goes on
 * from there. The socket is closed once the send has returned. A kernel that does not echo the change answers it at
 * the end, as it answers any request.
 */
import { NETLINK_ROUTE, NLMSG_ERROR, NLM_F_ACK, NLM_F_ECHO, NLM_F_REQUEST } from './constants.js';
import { NetlinkError, messageTypeName } from './errors.js';
import { decodeError, parseMessages } from './message.js';
import type { NetlinkRequest } from './socket.js';
import { native } from '../native/library.js';

/** What came of the request: it is done as far as anyone can see; `finished` settles once its send has returned. */
export interface EchoedChange {
  /** What it was answered by: the kernel's echo of the change, or (a kernel that does not echo it) its ACK. */
  readonly by: 'echo' | 'answer';
  readonly finished: Promise<void>;
}

const EAGAIN = 11;
const ETIMEDOUT = 110;
/** How long a wait for a datagram lasts before the send's outcome is looked at again. */
const WAIT_SLICE_MS = 50;
/** The echo of a link with every attribute is some 2 KB; a larger datagram is refused, not cut. */
const RECEIVE_BYTES = 32 * 1024;
const SEQ = 1;

/**
 * Sends the request on a new socket in the namespace pinned at nsPath (null: the caller's) and resolves at the
 * kernel's echo of it or at its answer, whichever comes first; throws the kernel's refusal as a NetlinkError.
 */
export async function requestUntilEcho(nsPath: string | null, request: NetlinkRequest<unknown>, timeoutMs: number): Promise<EchoedChange> {
  const lib = native();
  const fd = lib.socketOpen(nsPath, NETLINK_ROUTE, 0);
  if (fd < 0) throw new NetlinkError('socket', nsPath ?? 'current namespace', -fd);
  const out = request.encode(SEQ, NLM_F_REQUEST | NLM_F_ACK | NLM_F_ECHO);
  // The send's outcome: the kernel's count or -errno, or the binding's own error should the call itself fail.
  let sent: number | Error | undefined;
  const sending = lib.sendAsync(fd, out, out.length).then(
    (n) => (sent = n),
    (err: unknown) => (sent = err instanceof Error ? err : new Error(String(err))),
  );
  const answered = awaitEchoOrAnswer(fd, request, () => sent, timeoutMs);
  // The socket is closed once nothing uses it: the kernel until the send returns, this side until its read ends.
  const finished = Promise.allSettled([sending, answered]).then(() => void lib.close(fd));
  try {
    return { by: await answered, finished };
  } catch (err) {
    await finished;
    throw err;
  }
}

/** Reads the socket until the echo or the answer of the request (sequence SEQ) comes, or the send has failed. */
async function awaitEchoOrAnswer(
  fd: number,
  request: NetlinkRequest<unknown>,
  sent: () => number | Error | undefined,
  timeoutMs: number,
): Promise<EchoedChange['by']> {
  const rx = Buffer.allocUnsafe(RECEIVE_BYTES);
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const n = await native().recvAsync(fd, rx, rx.length, WAIT_SLICE_MS);
    if (n === -EAGAIN) {
      const result = sent();
      if (result instanceof Error) throw result;
      if (result !== undefined && result < 0) throw new NetlinkError('sendto', request.object, -result);
      if (performance.now() > deadline) throw new NetlinkError(messageTypeName(request.type), request.object, ETIMEDOUT);
      continue;
    }
    if (n < 0) throw new NetlinkError('recv', request.object, -n);
    for (const msg of parseMessages(rx.subarray(0, n))) {
      if (msg.header.seq !== SEQ) continue;
      if (msg.header.type === request.type) return 'echo';
      if (msg.header.type !== NLMSG_ERROR) continue;
      const answer = decodeError(msg);
      if (answer.error !== 0) throw new NetlinkError(messageTypeName(request.type), request.object, -answer.error, answer.extackMessage);
      return 'answer';
    }
  }
}
