/**
 * How a batch of requests (sandboxes made or removed together) runs on the controller's queue: its flush collects
 * each caller's answer, and the answers go out once the whole queued operation has ended, after what the
 * controller does once an operation is done (the cluster's announcements), as a caller of any other operation hears.
 */
export type Answers = (() => void)[];

export function runBatch(enqueue: (op: () => Promise<void>) => Promise<void>, flush: (answers: Answers) => Promise<void>): void {
  const answers: Answers = [];
  void enqueue(() => flush(answers))
    .catch(() => undefined)
    .then(() => answers.forEach((answer) => answer()));
}
