import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { netemOptions, netemReplaceRequest, normalDistributionTable, type NetemSpec } from '../../../src/netlink/netem.js';
import { parseMessages } from '../../../src/netlink/message.js';

/** What iproute2's tc sent for each netem command line, captured (see the fixture's "captured"). */
const fixture = JSON.parse(readFileSync(new URL('../../fixtures/tc-netem-options.json', import.meta.url), 'utf8')) as {
  requests: { tc: string; options: string }[];
};
const captured = (tc: string): Buffer => Buffer.from(fixture.requests.find((r) => r.tc === tc)!.options, 'hex');

const ms = 1e6;
/** The same settings as tsnet's impairments say them. */
const cases: [string, NetemSpec][] = [
  ['netem delay 20ms', { delay: 20 * ms, limit: 1000 }],
  ['netem delay 20ms 5ms', { delay: 20 * ms, jitter: 5 * ms, distribution: 'uniform', limit: 1000 }],
  ['netem delay 10ms reorder 25% duplicate 1% corrupt 0.5%', { delay: 10 * ms, reorder: 25, duplicate: 1, corrupt: 0.5, limit: 1000 }],
  ['netem delay 1ms loss gemodel 1% 10% 70% 0.1%', { delay: 1 * ms, lossModel: { p: 1, r: 10, badLoss: 70, goodLoss: 0.1 }, limit: 1000 }],
  ['netem delay 30s', { delay: 30_000 * ms, limit: 1000 }],
  ['netem duplicate 2%', { duplicate: 2, limit: 1000 }],
];

/** tc's normal.dist table, from a captured request: the s16 entries of TCA_NETEM_DELAY_DIST after the 24-byte qopt. */
function tcNormalTable(tc: string): Int16Array {
  const o = captured(tc);
  const len = o.readUInt16LE(24);
  expect(o.readUInt16LE(26)).toBe(2); // TCA_NETEM_DELAY_DIST
  const table = o.subarray(28, 24 + len);
  return new Int16Array(table.buffer.slice(table.byteOffset, table.byteOffset + table.length));
}

const asInt16 = (b: Buffer): Int16Array => new Int16Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));

describe('netem codec', () => {
  it.each(cases)('encodes "%s" byte for byte as iproute2 does', (tc, spec) => {
    expect(netemOptions(spec).toString('hex')).toBe(captured(tc).toString('hex'));
  });

  it("draws a normal jitter from a table like tc's normal.dist: the same quantiles within 1% of a deviation, mean 0, spread 1", () => {
    const ours = asInt16(normalDistributionTable());
    const theirs = tcNormalTable('netem delay 20ms 5ms distribution normal');
    expect(ours.length).toBe(theirs.length);
    // Past the outer 0.5% the quantiles grow steep, and tc's table is coarse there (its first entry is clamped).
    for (let i = 20; i < ours.length - 20; i++) expect(Math.abs(ours[i]! - theirs[i]!)).toBeLessThan(82);
    const mean = ours.reduce((s, v) => s + v, 0) / ours.length / 8192;
    const sd = Math.sqrt(ours.reduce((s, v) => s + (v / 8192) ** 2, 0) / ours.length - mean ** 2);
    expect(Math.abs(mean)).toBeLessThan(1e-3);
    expect(sd).toBeGreaterThan(0.99);
    expect(sd).toBeLessThan(1.01);
    // The rest of the request is tc's, with our table in place of its.
    const spec: NetemSpec = { delay: 20 * ms, jitter: 5 * ms, limit: 1000 };
    const opts = netemOptions(spec);
    expect(opts.subarray(0, 28).toString('hex')).toBe(captured('netem delay 20ms 5ms distribution normal').subarray(0, 28).toString('hex'));
    expect(opts.length).toBe(captured('netem delay 20ms 5ms distribution normal').length);
  });

  it('replaces the root qdisc with a netem of handle 2:, creating it if need be', () => {
    const msg = parseMessages(netemReplaceRequest(7, { delay: 20 * ms, limit: 1000 }).encode(1, 0))[0]!;
    expect(msg.header.type).toBe(36); // RTM_NEWQDISC
    expect(msg.header.flags & 0x500).toBe(0x500); // NLM_F_CREATE | NLM_F_REPLACE
    expect(msg.payload.readInt32LE(4)).toBe(7);
    expect(msg.payload.readUInt32LE(8)).toBe(0x20000);
    expect(msg.payload.readUInt32LE(12)).toBe(0xffffffff);
    expect(msg.payload.subarray(20).toString('hex')).toContain(Buffer.from('netem\0').toString('hex'));
    expect(() => netemReplaceRequest(0, { limit: 1000 })).toThrow();
  });
});
