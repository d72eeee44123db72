/** The frames of a container's streams, its log's records and lines, and the detach keys: pure code, no root. */
import { mkdtempSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FrameDecoder, FrameType, MAX_INPUT_FRAME, encodeFrame, stdinFrames } from '../../../src/lib/frames.js';
import { LogCursor, parseLogTime, rfc3339Nano, selectLines, showLine } from '../../../src/runtime/container-log.js';
import { DetachKeyMatcher, parseDetachKeys } from '../../../src/cli/detach-keys.js';

/** A log record as the launcher writes it. */
function record(type: number, timeNs: bigint, text: string): Buffer {
  const h = Buffer.alloc(16);
  h[0] = type;
  h.writeUInt32BE(Buffer.byteLength(text), 4);
  h.writeBigUInt64BE(timeNs, 8);
  return Buffer.concat([h, Buffer.from(text)]);
}

describe('frames', () => {
  it('decodes what it encodes, whatever the chunks the bytes arrive in', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom(0, 1, 2, 3), fc.uint8Array({ maxLength: 100 }))), fc.integer({ min: 1, max: 17 }), (frames, cut) => {
        const bytes = Buffer.concat(frames.map(([t, p]) => encodeFrame(t as FrameType, Buffer.from(p))));
        const d = new FrameDecoder();
        const got = [];
        for (let off = 0; off < bytes.length; off += cut) got.push(...d.push(bytes.subarray(off, off + cut)));
        expect(got.map((f) => [f.type, [...f.payload]])).toEqual(frames.map(([t, p]) => [t, [...p]]));
      }),
    );
  });

  it("cuts stdin into frames the launcher takes, and writes Docker's header", () => {
    const frames = stdinFrames(Buffer.alloc(MAX_INPUT_FRAME * 2 + 1, 7));
    expect(frames.map((f) => f.readUInt32BE(4))).toEqual([MAX_INPUT_FRAME, MAX_INPUT_FRAME, 1]);
    expect([...encodeFrame(FrameType.resize, '24 80')]).toEqual([4, 0, 0, 0, 0, 0, 0, 5, ...Buffer.from('24 80')]);
  });
});

describe('the container log', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const file = (): string => {
    dir = mkdtempSync(join(tmpdir(), 'tsnet-log-'));
    return join(dir, 'container.log');
  };

  it('cuts records into lines per stream, keeps partial lines and records cut short for the next read', () => {
    const f = file();
    writeFileSync(f, Buffer.concat([record(1, 1n, 'a\nb'), record(2, 2n, 'E\n'), record(1, 3n, 'c\nd\n')]));
    appendFileSync(f, record(1, 4n, 'late\n').subarray(0, 10));
    const cursor = new LogCursor(f);
    const lines = cursor.read();
    expect(lines.map((l) => [l.stream, l.data.toString(), l.startsLine, l.timeNs])).toEqual([
      ['stdout', 'a\n', true, 1n],
      ['stdout', 'b', true, 1n],
      ['stderr', 'E\n', true, 2n],
      ['stdout', 'c\n', false, 3n],
      ['stdout', 'd\n', true, 3n],
    ]);
    appendFileSync(f, record(1, 4n, 'late\n').subarray(10));
    expect(cursor.read().map((l) => l.data.toString())).toEqual(['late\n']);
    expect(showLine(lines[3]!, true).toString()).toBe('c\n'); // the rest of a line has no time of its own
    expect(showLine(lines[4]!, true).toString()).toBe('1970-01-01T00:00:00.000000003Z d\n');
  });

  it('chooses lines by stream, time and tail, as docker logs does', () => {
    const f = file();
    writeFileSync(f, Buffer.concat([1, 2, 3, 4].map((i) => record(i % 2 ? 1 : 2, BigInt(i) * 1_000_000_000n, `l${i}\n`))));
    const lines = new LogCursor(f).read();
    const text = (s: Parameters<typeof selectLines>[1]): string[] => selectLines(lines, s).map((l) => l.data.toString().trim());
    expect(text({ tail: 2 })).toEqual(['l3', 'l4']);
    expect(text({ tail: 0 })).toEqual([]);
    expect(text({ sinceNs: 2_000_000_000n, untilNs: 3_000_000_000n })).toEqual(['l2', 'l3']);
    expect(text({ stderr: false, tail: 1 })).toEqual(['l3']);
  });

  it("reads Docker's times: Unix seconds, RFC 3339 and durations before now", () => {
    expect(parseLogTime('1700000000.5')).toBe(1_700_000_000_500_000_000n);
    expect(parseLogTime('2024-01-02T03:04:05Z')).toBe(BigInt(Date.parse('2024-01-02T03:04:05Z')) * 1_000_000n);
    expect(parseLogTime('10m', 3_600_000)).toBe(3_000_000n * 1_000_000n);
    expect(() => parseLogTime('soon')).toThrow(/not a time/u);
    expect(rfc3339Nano(1_700_000_000_123_456_789n)).toBe('2023-11-14T22:13:20.123456789Z');
  });
});

describe('detach keys', () => {
  it("parses Docker's key names", () => {
    expect([...parseDetachKeys('ctrl-p,ctrl-q')]).toEqual([16, 17]);
    expect([...parseDetachKeys('ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_,x')]).toEqual([0, 27, 28, 29, 30, 31, 120]);
    expect(() => parseDetachKeys('ctrl-1')).toThrow(/invalid detach key/u);
    expect(() => parseDetachKeys('ab')).toThrow(/invalid detach key/u);
  });

  it('detaches on the sequence across chunks, and passes on what only looked like its start', () => {
    const m = new DetachKeyMatcher(parseDetachKeys('ctrl-p,ctrl-q'));
    expect(m.feed(Buffer.from('ab\x10'))).toEqual({ forward: Buffer.from('ab'), detach: false });
    expect(m.feed(Buffer.from('x\x10\x10'))).toEqual({ forward: Buffer.from('\x10x\x10'), detach: false });
    expect(m.feed(Buffer.from('\x11rest'))).toEqual({ forward: Buffer.from(''), detach: true });
    expect(new DetachKeyMatcher(Buffer.alloc(0)).feed(Buffer.from('\x10\x11'))).toEqual({ forward: Buffer.from('\x10\x11'), detach: false });
  });
});
