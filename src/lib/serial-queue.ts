/**
 * A serial queue: each task starts after every task queued before it has settled, whether it succeeded or not.
 * The one way tsnet serialises work on a shared resource (the controller's state, a netlink socket, a firewall).
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  /** Runs task after everything queued before it; its result or error is the caller's alone. */
  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task, task);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
