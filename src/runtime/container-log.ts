/**
 * Reading a container's log (records written by its monitor, see frames.ts) as `docker logs` shows it: the two
 * streams apart, cut into lines for --tail and for the timestamps of -t, chosen by time for --since and --until,
 * and followed as the file grows.
 */
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { parseLogRecords, type LogRecord } from '../lib/frames.js';

/** A line of a stream (or the part of one written so far), with the time its first byte was written. */
export interface LogLine {
  readonly stream: 'stdout' | 'stderr';
  readonly timeNs: bigint;
  readonly data: Buffer;
  /** False for the rest of a line whose start came in an earlier record. */
  readonly startsLine: boolean;
}

export interface LogSelection {
  readonly tail?: number;
  readonly sinceNs?: bigint;
  readonly untilNs?: bigint;
  readonly stdout?: boolean;
  readonly stderr?: boolean;
}

/** Reads a log file from an offset; each stream remembers whether its next byte starts a line. */
export class LogCursor {
  private offset = 0;
  private readonly atLineStart = { stdout: true, stderr: true };

  constructor(private readonly file: string) {}

  /** The lines written since the last read (records still being written wait for the next). */
  read(): LogLine[] {
    if (!existsSync(this.file)) return [];
    const fd = openSync(this.file, 'r');
    try {
      const chunks: Buffer[] = [];
      const buf = Buffer.alloc(256 * 1024);
      for (let pos = this.offset; ;) {
        const n = readSync(fd, buf, 0, buf.length, pos);
        if (n <= 0) break;
        chunks.push(Buffer.from(buf.subarray(0, n)));
        pos += n;
      }
      const { records, used } = parseLogRecords(Buffer.concat(chunks));
      this.offset += used;
      return records.flatMap((r) => this.lines(r));
    } finally {
      closeSync(fd);
    }
  }

  private lines(r: LogRecord): LogLine[] {
    const out: LogLine[] = [];
    let start = 0;
    while (start < r.data.length) {
      const nl = r.data.indexOf(10, start);
      const end = nl === -1 ? r.data.length : nl + 1;
      out.push({ stream: r.stream, timeNs: r.timeNs, data: r.data.subarray(start, end), startsLine: this.atLineStart[r.stream] });
      this.atLineStart[r.stream] = nl !== -1;
      start = end;
    }
    return out;
  }
}

/** The lines asked for: the streams, the time window, then the last `tail` of them. */
export function selectLines(lines: readonly LogLine[], s: LogSelection): LogLine[] {
  const chosen = lines.filter(
    (l) =>
      (l.stream === 'stdout' ? s.stdout !== false : s.stderr !== false) &&
      (s.sinceNs === undefined || l.timeNs >= s.sinceNs) &&
      (s.untilNs === undefined || l.timeNs <= s.untilNs),
  );
  return s.tail === undefined ? chosen : chosen.slice(Math.max(0, chosen.length - s.tail));
}

/** RFC 3339 with nanoseconds, as Docker's -t prints. */
export function rfc3339Nano(ns: bigint): string {
  const ms = Number(ns / 1_000_000n);
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0');
  return `${new Date(ms).toISOString().slice(0, 19)}.${frac}Z`;
}

/** A line as shown: with -t, its time before it (only where a line starts). */
export function showLine(l: LogLine, timestamps: boolean): Buffer {
  return timestamps && l.startsLine ? Buffer.concat([Buffer.from(`${rfc3339Nano(l.timeNs)} `), l.data]) : l.data;
}

/** Docker's --since/--until: a Unix time (seconds, with a fraction), an RFC 3339 date, or a duration before now. */
export function parseLogTime(value: string, nowMs = Date.now()): bigint {
  if (/^\d+(\.\d{1,9})?$/u.test(value)) {
    const [s = '0', f = ''] = value.split('.');
    return BigInt(s) * 1_000_000_000n + BigInt(f.padEnd(9, '0'));
  }
  const d = /^(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)$/u.exec(value);
  if (d) {
    const unitMs = { ns: 1e-6, us: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[d[2] as 'ns'];
    return BigInt(Math.round(nowMs - Number(d[1]) * unitMs)) * 1_000_000n;
  }
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new RangeError(`"${value}" is not a time: use a Unix time, an RFC 3339 date or a duration such as 10m`);
  return BigInt(t) * 1_000_000n;
}
