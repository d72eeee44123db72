/**
 * The frames a container's streams travel in (native/relay.h): Docker's 8-byte stream header (type, three zero
 * bytes, a big-endian u32 length) and the payload. The same frames go from the launcher through the daemon to the
 * CLI unchanged; the log keeps output as records of the header, a big-endian u64 time in nanoseconds and the bytes.
 */

export const FrameType = { stdin: 0, stdout: 1, stderr: 2, exit: 3, resize: 4, closeStdin: 5 } as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

/** The largest payload a client may send in one frame (RELAY_MAX_IN_FRAME). */
export const MAX_INPUT_FRAME = 16384;

export interface Frame {
  readonly type: number;
  readonly payload: Buffer;
}

export function encodeFrame(type: FrameType, payload: Buffer | string = Buffer.alloc(0)): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const head = Buffer.alloc(8);
  head[0] = type;
  head.writeUInt32BE(body.length, 4);
  return Buffer.concat([head, body]);
}

/** Input bytes as STDIN frames no larger than the launcher takes. */
export function stdinFrames(data: Buffer): Buffer[] {
  const frames: Buffer[] = [];
  for (let off = 0; off < data.length; off += MAX_INPUT_FRAME) frames.push(encodeFrame(FrameType.stdin, data.subarray(off, off + MAX_INPUT_FRAME)));
  return frames;
}

/** Cuts a byte stream into frames, whatever the chunks it arrives in. */
export class FrameDecoder {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Frame[] {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const frames: Frame[] = [];
    while (this.pending.length >= 8) {
      const len = this.pending.readUInt32BE(4);
      if (this.pending.length < 8 + len) break;
      frames.push({ type: this.pending[0]!, payload: this.pending.subarray(8, 8 + len) });
      this.pending = this.pending.subarray(8 + len);
    }
    return frames;
  }
}

/** One record of a container's log: which stream, when (ns since the epoch), what. */
export interface LogRecord {
  readonly stream: 'stdout' | 'stderr';
  readonly timeNs: bigint;
  readonly data: Buffer;
}

/** The records of a log file's bytes; a record cut short at the end (still being written) is left out. */
export function parseLogRecords(bytes: Buffer): { records: LogRecord[]; used: number } {
  const records: LogRecord[] = [];
  let off = 0;
  while (bytes.length - off >= 16) {
    const len = bytes.readUInt32BE(off + 4);
    if (bytes.length - off - 16 < len) break;
    records.push({
      stream: bytes[off] === FrameType.stderr ? 'stderr' : 'stdout',
      timeNs: bytes.readBigUInt64BE(off + 8),
      data: bytes.subarray(off + 16, off + 16 + len),
    });
    off += 16 + len;
  }
  return { records, used: off };
}
