import { describe, expect, it } from 'vitest';
import { AttrTable, attr, encodeAttrs } from '../../../src/netlink/attributes.js';
import {
  IFLA_IFNAME,
  IFLA_INFO_KIND,
  IFLA_LINKINFO,
  IFLA_MTU,
  NLMSG_ERROR,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  NLM_F_DUMP,
  NLM_F_REQUEST,
  RTM_GETLINK,
  RTM_NEWLINK,
} from '../../../src/netlink/constants.js';
import { decodeLink } from '../../../src/netlink/link.js';
import { decodeError, encodeMessage, ifaddrmsg, ifinfomsg, ndmsg, parseMessages, rtmsg, type FamilyStruct } from '../../../src/netlink/message.js';

describe('attributes', () => {
  it('encodes a string attribute with NUL and padding, as the kernel lays it out', () => {
    // "eth0\0" is 5 bytes: nla_len = 9, padded to 12.
    expect(encodeAttrs([attr.str(IFLA_IFNAME, 'eth0')]).toString('hex')).toBe('0900030065746830000000' + '00');
  });

  it('encodes integers little-endian and be16 in network order', () => {
    expect(encodeAttrs([attr.u32(IFLA_MTU, 1500)]).toString('hex')).toBe('08000400dc050000');
    expect(encodeAttrs([attr.be16(15, 4789)]).toString('hex')).toBe('06000f0012b50000');
  });

  it('round-trips nested attributes', () => {
    const bytes = encodeAttrs([
      attr.str(IFLA_IFNAME, 'br0'),
      attr.nested(IFLA_LINKINFO, [attr.str(IFLA_INFO_KIND, 'bridge'), attr.nested(2, [attr.u8(5, 1)])]),
    ]);
    const table = AttrTable.parse(bytes);
    expect(table.str(IFLA_IFNAME)).toBe('br0');
    const info = table.nested(IFLA_LINKINFO);
    expect(info?.str(IFLA_INFO_KIND)).toBe('bridge');
    expect(info?.nested(2)?.u8(5)).toBe(1);
  });

  it('masks NLA_F_NESTED and keeps repeated attributes', () => {
    const b = Buffer.from('0800' + '0380' + '01020304' + '0800' + '0300' + '05060708', 'hex');
    const table = AttrTable.parse(b);
    expect(table.all(3)).toHaveLength(2);
    expect(table.u32(3)).toBe(0x04030201);
  });

  it('refuses an attribute whose length runs past the buffer', () => {
    expect(() => AttrTable.parse(Buffer.from('20000300aaaa', 'hex'))).toThrow(RangeError);
    expect(() => AttrTable.parse(Buffer.from('02000300', 'hex'))).toThrow(/length 2/);
  });
});

describe('family structs', () => {
  const roundTrip = <T>(s: FamilyStruct<T>, v: T): void => {
    const b = Buffer.alloc(s.size);
    s.encode(v, b, 0);
    expect(s.decode(b, 0)).toEqual(v);
  };
  it('round-trips ifinfomsg, ifaddrmsg, rtmsg and ndmsg', () => {
    roundTrip(ifinfomsg, { family: 0, type: 1, index: 42, flags: 0x11043, change: 0xffffffff });
    roundTrip(ifaddrmsg, { family: 10, prefixLen: 64, flags: 0x80, scope: 253, index: 7 });
    roundTrip(rtmsg, { family: 2, dstLen: 24, srcLen: 0, tos: 0, table: 254, protocol: 3, scope: 0, type: 1, flags: 4 });
    roundTrip(ndmsg, { family: 2, index: 3, state: 0x80, flags: 0, type: 1 });
  });
});

describe('messages', () => {
  it('encodes the RTM_GETLINK dump request byte for byte as iproute2 frames it', () => {
    const msg = encodeMessage(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, 7, ifinfomsg, { family: 0, type: 0, index: 0, flags: 0, change: 0 });
    expect(msg.toString('hex')).toBe('20000000' + '1200' + '0103' + '07000000' + '00000000' + '00000000' + '00000000' + '00000000' + '00000000');
  });

  it('splits a datagram into its messages', () => {
    const a = encodeMessage(RTM_NEWLINK, 2, 1, ifinfomsg, { family: 0, type: 1, index: 1, flags: 0, change: 0 }, [attr.str(IFLA_IFNAME, 'lo')]);
    const b = encodeMessage(RTM_NEWLINK, 2, 1, ifinfomsg, { family: 0, type: 1, index: 2, flags: 1, change: 0 }, [attr.str(IFLA_IFNAME, 'eth0')]);
    const msgs = parseMessages(Buffer.concat([a, b]));
    expect(msgs.map((m) => decodeLink(m).name)).toEqual(['lo', 'eth0']);
    expect(msgs.map((m) => decodeLink(m).up)).toEqual([false, true]);
  });

  it('refuses a message whose length runs past the datagram', () => {
    const a = encodeMessage(RTM_NEWLINK, 0, 1, ifinfomsg, { family: 0, type: 0, index: 1, flags: 0, change: 0 });
    a.writeUInt32LE(a.length + 4, 0);
    expect(() => parseMessages(a)).toThrow(RangeError);
  });

  it('decodes an error acknowledgement with the kernel extended ACK message', () => {
    const request = encodeMessage(RTM_NEWLINK, 5, 99, ifinfomsg, { family: 0, type: 0, index: 0, flags: 0, change: 0 });
    const tlvs = encodeAttrs([attr.str(1, 'Unknown device type'), attr.u32(2, 36)]);
    const payload = Buffer.alloc(4);
    payload.writeInt32LE(-95);
    const body = Buffer.concat([payload, request.subarray(0, 16), tlvs]);
    const header = Buffer.alloc(16);
    header.writeUInt32LE(16 + body.length, 0);
    header.writeUInt16LE(NLMSG_ERROR, 4);
    header.writeUInt16LE(NLM_F_CAPPED | NLM_F_ACK_TLVS, 6);
    header.writeUInt32LE(99, 8);
    const [msg] = parseMessages(Buffer.concat([header, body]));
    const err = decodeError(msg!);
    expect(err.error).toBe(-95);
    expect(err.request.seq).toBe(99);
    expect(err.request.type).toBe(RTM_NEWLINK);
    expect(err.extackMessage).toBe('Unknown device type');
    expect(err.extackOffset).toBe(36);
  });

  it('decodes an uncapped error acknowledgement that echoes the whole request', () => {
    const request = encodeMessage(RTM_NEWLINK, 5, 3, ifinfomsg, { family: 0, type: 0, index: 0, flags: 0, change: 0 }, [attr.str(IFLA_IFNAME, 'x')]);
    const payload = Buffer.alloc(4);
    payload.writeInt32LE(-17);
    const tlvs = encodeAttrs([attr.str(1, 'exists')]);
    const body = Buffer.concat([payload, request, tlvs]);
    const header = Buffer.alloc(16);
    header.writeUInt32LE(16 + body.length, 0);
    header.writeUInt16LE(NLMSG_ERROR, 4);
    header.writeUInt16LE(NLM_F_ACK_TLVS, 6);
    const err = decodeError(parseMessages(Buffer.concat([header, body]))[0]!);
    expect(err.error).toBe(-17);
    expect(err.extackMessage).toBe('exists');
  });

  it('refuses every truncation of a real message with a RangeError that says where', () => {
    const attrs = [attr.str(IFLA_IFNAME, 'veth0'), attr.u32(IFLA_MTU, 1500), attr.nested(IFLA_LINKINFO, [attr.str(IFLA_INFO_KIND, 'veth')])];
    const whole = encodeMessage(RTM_NEWLINK, 0, 1, ifinfomsg, { family: 0, type: 1, index: 3, flags: 0, change: 0 }, attrs);
    expect(decodeLink(parseMessages(whole)[0]!).name).toBe('veth0');
    for (let cut = 16; cut < whole.length; cut++) {
      // The header still claims the whole length: the message is cut short.
      expect(() => parseMessages(whole.subarray(0, cut)), `cut at ${cut}`).toThrow(
        new RangeError(`malformed netlink message at offset 0: length ${whole.length}, ${cut} bytes left`),
      );
    }
    // A header whose length is truthful but whose attributes are cut: refused when decoded.
    const short = Buffer.from(whole.subarray(0, whole.length - 6));
    short.writeUInt32LE(short.length, 0);
    expect(() => decodeLink(parseMessages(short)[0]!)).toThrow(RangeError);
  });

  it('on random bytes, either parses or refuses with a RangeError, and meets both', () => {
    let seed = 12345;
    const rand = (): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    const outcomes = { parsed: 0, refused: 0 };
    for (let i = 0; i < 2000; i++) {
      const b = Buffer.alloc(rand() % 200);
      for (let j = 0; j < b.length; j++) b[j] = rand() & 0xff;
      if (b.length >= 4 && i % 2 === 0) b.writeUInt32LE(b.length, 0); // plausible length half the time
      try {
        for (const m of parseMessages(b)) {
          if (m.header.type === NLMSG_ERROR) decodeError(m);
          else decodeLink(m);
        }
        outcomes.parsed++;
      } catch (err) {
        expect(err).toBeInstanceOf(RangeError);
        outcomes.refused++;
      }
    }
    // Both kinds of input occur, so the test would notice a decoder that refuses everything or nothing.
    expect(outcomes.parsed).toBeGreaterThan(100);
    expect(outcomes.refused).toBeGreaterThan(100);
  });
});
