/**
 * `logs` as the daemon sends it: the chosen lines of a container's log as frames (stdout 1, stderr 2; see
 * frames.ts), and with follow, what it writes next, until it has exited and everything written has been sent.
 */
import { Readable } from 'node:stream';
import type { LogsQuery } from '../api/containers.js';
import { InvalidArgumentError } from '../errors.js';
import { LogCursor, parseLogTime, selectLines, showLine, type LogLine, type LogSelection } from '../runtime/container-log.js';
import { FrameType, encodeFrame } from '../lib/frames.js';
import type { Runtime } from '../runtime/runtime.js';

const FOLLOW_POLL_MS = 50;

function selection(q: LogsQuery): LogSelection {
  try {
    return {
      ...(q.tail !== undefined && q.tail !== 'all' ? { tail: Number(q.tail) } : {}),
      ...(q.since ? { sinceNs: parseLogTime(q.since) } : {}),
      ...(q.until ? { untilNs: parseLogTime(q.until) } : {}),
      ...(q.stdout === 'false' ? { stdout: false } : {}),
      ...(q.stderr === 'false' ? { stderr: false } : {}),
    };
  } catch (err) {
    throw new InvalidArgumentError(`logs: ${(err as Error).message}`);
  }
}

export function logStream(runtime: Runtime, id: string, q: LogsQuery): Readable {
  const cursor = new LogCursor(runtime.files.log(id));
  const chosen = selection(q);
  const timestamps = q.timestamps === 'true';
  const frames = (lines: readonly LogLine[]): Buffer[] =>
    lines.map((l) => encodeFrame(l.stream === 'stderr' ? FrameType.stderr : FrameType.stdout, showLine(l, timestamps)));
  const first = frames(selectLines(cursor.read(), chosen));
  const running = (): boolean => {
    try {
      return runtime.get(id).status === 'running';
    } catch {
      return false;
    }
  };
  // Followed lines are chosen by stream and --until; --tail and --since applied to what was there.
  const later: LogSelection = {
    stdout: chosen.stdout !== false,
    stderr: chosen.stderr !== false,
    ...(chosen.untilNs !== undefined ? { untilNs: chosen.untilNs } : {}),
  };
  let timer: NodeJS.Timeout | undefined;
  let sentFirst = false;
  return new Readable({
    read() {
      if (!sentFirst) {
        sentFirst = true;
        if (first.length) return void this.push(Buffer.concat(first));
      }
      if (q.follow !== 'true') return void this.push(null);
      const tick = (): void => {
        const wasRunning = running();
        const more = frames(selectLines(cursor.read(), later));
        if (more.length) return void this.push(Buffer.concat(more));
        if (!wasRunning) return void this.push(null);
        timer = setTimeout(tick, FOLLOW_POLL_MS);
      };
      tick();
    },
    destroy(err, cb) {
      if (timer) clearTimeout(timer);
      cb(err);
    },
  });
}
