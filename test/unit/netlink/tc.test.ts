import { describe, expect, it } from 'vitest';
import { randomDropProgram } from '../../../src/netlink/bpf-programs.js';
import { bpfFilterReplaceRequest, decodeQdisc, tbfOptions } from '../../../src/netlink/tc.js';
import { parseMessages } from '../../../src/netlink/message.js';

describe('traffic control codec', () => {
  it("encodes TBF's options as tc does: an Ethernet rate spec (no rate table), the queue limit, the burst in bytes", () => {
    const [parms, burst] = tbfOptions({ rate: 10e6, burst: 16384, limit: 125000 });
    const q = parms!.value as Buffer;
    expect(q.length).toBe(36);
    expect(q.readUInt8(1)).toBe(1); // TC_LINKLAYER_ETHERNET
    expect(q.readUInt32LE(8)).toBe(1_250_000); // bytes per second
    expect(q.readUInt32LE(24)).toBe(125000);
    expect(burst).toMatchObject({ type: 6 });
    expect((burst!.value as Buffer).readUInt32LE(0)).toBe(16384);
    expect(tbfOptions({ rate: 40e9, burst: 1 << 20, limit: 1 << 22 }).map((a) => a.type)).toEqual([1, 4, 6]); // 64-bit rate
  });

  it('puts a bpf filter on the ingress or egress hook, for every protocol, in direct-action mode', () => {
    const msg = parseMessages(bpfFilterReplaceRequest(7, 'ingress', 42, 'tsnet-loss').encode(1, 0))[0]!;
    expect(msg.header.type).toBe(44);
    expect(msg.payload.readInt32LE(4)).toBe(7);
    expect(msg.payload.readUInt32LE(12)).toBe(0xfffffff2);
    expect(msg.payload.readUInt32LE(16)).toBe((1 << 16) | 0x0300); // prio 1, ETH_P_ALL in network order
  });

  it("reads a qdisc's kind and counters", () => {
    // TCA_STATS2 { TCA_STATS_BASIC {bytes u64, packets u32}, TCA_STATS_QUEUE {qlen, backlog, drops, requeues, overlimits} }
    const basic = Buffer.alloc(4 + 12);
    basic.writeUInt16LE(16, 0);
    basic.writeUInt16LE(1, 2);
    basic.writeBigUInt64LE(1000n, 4);
    basic.writeUInt32LE(10, 12);
    const queue = Buffer.alloc(4 + 20);
    queue.writeUInt16LE(24, 0);
    queue.writeUInt16LE(3, 2);
    queue.writeUInt32LE(3, 4 + 8);
    const nest = Buffer.concat([Buffer.from([44, 0, 7, 0]), basic, queue]);
    const kind = Buffer.from([8, 0, 1, 0, ...Buffer.from('tbf\0')]);
    const payload = Buffer.concat([Buffer.alloc(20), kind, nest]);
    payload.writeInt32LE(5, 4);
    const q = decodeQdisc({ header: { len: 0, type: 36, flags: 0, seq: 0, pid: 0 }, payload });
    expect(q).toMatchObject({ index: 5, kind: 'tbf', bytes: 1000, packets: 10, drops: 3 });
  });

  it('encodes the random-drop program: the threshold is the share of 2^32', () => {
    const p = randomDropProgram(0.05);
    expect(p.length).toBe(8 * 8);
    expect(p.readUInt8(0)).toBe(0x85); // call get_prandom_u32
    expect(p.readInt32LE(4)).toBe(7);
    expect(p.readUInt32LE(8 + 4)).toBe(Math.round(0.05 * 2 ** 32));
    expect(randomDropProgram(1).readUInt32LE(16 + 4)).toBe(1); // 2^32: the high half
    expect(() => randomDropProgram(1.5)).toThrow(RangeError);
  });
});
