import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../../src/errors.js';
import { addrAddRequest } from '../../../src/netlink/addr.js';
import { AttrTable } from '../../../src/netlink/attributes.js';
import {
  IFA_BROADCAST,
  IFA_LOCAL,
  IFLA_IFNAME,
  IFLA_INFO_DATA,
  IFLA_INFO_KIND,
  IFLA_LINKINFO,
  IFLA_NET_NS_FD,
  NLM_F_ACK,
  NLM_F_CREATE,
  NLM_F_ECHO,
  NLM_F_EXCL,
  NLM_F_REQUEST,
  RTA_DST,
  RTA_GATEWAY,
  AF_INET,
  AF_INET6,
  RTM_NEWLINK,
  RT_SCOPE_LINK,
  RT_SCOPE_UNIVERSE,
  VETH_INFO_PEER,
} from '../../../src/netlink/constants.js';
import { NetlinkError } from '../../../src/netlink/errors.js';
import { linkAddRequest, linkSetRequest } from '../../../src/netlink/link.js';
import { decodeFamily, ifaddrmsg, ifinfomsg, parseMessages, rtmsg } from '../../../src/netlink/message.js';
import { routeAddRequest } from '../../../src/netlink/route.js';
import ipaddr from 'ipaddr.js';
import { parseIp, parseMac, parsePrefix } from '../../../src/netlink/validate.js';

const ACK = NLM_F_REQUEST | NLM_F_ACK;

describe('request builders', () => {
  it('builds a veth whose peer is created inside another namespace', () => {
    const bytes = linkAddRequest({ kind: 'veth', name: 'vethab', peer: { name: 'eth0', netns: { fd: 42 } } }).encode(1, ACK);
    const [msg] = parseMessages(bytes);
    expect(msg!.header.type).toBe(RTM_NEWLINK);
    expect(msg!.header.flags).toBe(ACK | NLM_F_CREATE | NLM_F_EXCL | NLM_F_ECHO);
    const { attrs } = decodeFamily(msg!, ifinfomsg);
    expect(attrs.str(IFLA_IFNAME)).toBe('vethab');
    const info = attrs.nested(IFLA_LINKINFO)!;
    expect(info.str(IFLA_INFO_KIND)).toBe('veth');
    const peer = info.nested(IFLA_INFO_DATA)!.bytes(VETH_INFO_PEER)!;
    const peerAttrs = AttrTable.parse(peer, ifinfomsg.size);
    expect(peerAttrs.str(IFLA_IFNAME)).toBe('eth0');
    expect(peerAttrs.u32(IFLA_NET_NS_FD)).toBe(42);
  });

  it('builds an IPv4 address with the subnet broadcast, as `brd +` does', () => {
    const [msg] = parseMessages(addrAddRequest(3, '10.1.2.3/24', { broadcast: true }).encode(1, ACK));
    const { head, attrs } = decodeFamily(msg!, ifaddrmsg);
    expect(head).toMatchObject({ family: 2, prefixLen: 24, index: 3 });
    expect([...attrs.bytes(IFA_LOCAL)!]).toEqual([10, 1, 2, 3]);
    expect([...attrs.bytes(IFA_BROADCAST)!]).toEqual([10, 1, 2, 255]);
  });

  it('gives direct routes link scope and gateway routes universe scope', () => {
    const direct = decodeFamily(parseMessages(routeAddRequest({ dst: '10.9.0.0/16', oif: 4 }).encode(1, ACK))[0]!, rtmsg);
    expect(direct.head).toMatchObject({ family: 2, dstLen: 16, scope: RT_SCOPE_LINK, table: 254 });
    expect([...direct.attrs.bytes(RTA_DST)!]).toEqual([10, 9, 0, 0]);
    const viaGw = decodeFamily(parseMessages(routeAddRequest({ dst: 'default', gateway: 'fd00::1' }).encode(1, ACK))[0]!, rtmsg);
    expect(viaGw.head).toMatchObject({ family: 10, dstLen: 0, scope: RT_SCOPE_UNIVERSE });
    expect(viaGw.attrs.bytes(RTA_GATEWAY)!.length).toBe(16);
  });
});

describe('input the kernel would reject is refused before any system call', () => {
  it('refuses an interface name over 15 bytes', () => {
    expect(() => linkAddRequest({ kind: 'dummy', name: 'a-very-long-name0' })).toThrow(InvalidArgumentError);
    expect(() => linkAddRequest({ kind: 'dummy', name: 'a-very-long-name0' })).toThrow(/17 bytes long; the kernel allows at most 15/);
    expect(() => linkAddRequest({ kind: 'veth', name: 'ok', peer: { name: 'bad/name' } })).toThrow(/veth peer name "bad\/name"/);
    expect(() => linkAddRequest({ kind: 'dummy', name: '' })).toThrow(/empty/);
  });

  it('refuses bad MAC addresses, including multicast ones', () => {
    expect(() => parseMac('02:42:ac:11:00')).toThrow(/not of the form/);
    expect(() => parseMac('zz:42:ac:11:00:02')).toThrow(/not of the form/);
    expect(() => parseMac('01:00:5e:00:00:01')).toThrow(/multicast/);
    expect(parseMac('02:42:AC:11:00:02')).toEqual(Buffer.from([2, 0x42, 0xac, 0x11, 0, 2]));
  });

  it('refuses prefix lengths out of range and malformed addresses', () => {
    expect(() => parsePrefix('10.0.0.1/33')).toThrow(/from 0 to 32/);
    expect(() => parsePrefix('fd00::1/129')).toThrow(/from 0 to 128/);
    expect(() => parsePrefix('10.0.0/24')).toThrow(/not an IPv4 or IPv6 address/);
    expect(() => addrAddRequest(1, '10.0.0.1/-1')).toThrow(InvalidArgumentError);
    expect(parsePrefix('10.0.0.1')).toMatchObject({ prefixLen: 32, text: '10.0.0.1' });
    // Dotted quads as ipaddr.js takes them (the fast path agrees with it), the rest refused.
    expect(parseIp('255.0.10.1')).toEqual({ family: AF_INET, bytes: Buffer.from([255, 0, 10, 1]), text: '255.0.10.1' });
    for (const bad of ['256.0.0.1', '10.01.0.1', '10.0.0.1.', ' 10.0.0.1', '1.2.3.4/8']) {
      expect(ipaddr.IPv4.isValidFourPartDecimal(bad)).toBe(false);
      expect(() => parseIp(bad)).toThrow(/not an IPv4 or IPv6 address/);
    }
    expect(parseIp('::ffff:10.0.0.1')).toMatchObject({ family: AF_INET6 });
  });

  it('refuses bad MTUs, indexes and a gateway of the other family', () => {
    expect(() => linkSetRequest('eth0', { mtu: 67 })).toThrow(/MTU 67/);
    expect(() => linkSetRequest(0, { up: true })).toThrow(/interface index 0/);
    expect(() => routeAddRequest({ dst: '10.0.0.0/8', gateway: 'fd00::1' })).toThrow(/same family/);
    expect(() => linkAddRequest({ kind: 'vxlan', name: 'vx0', vni: 1 << 24 })).toThrow(/VXLAN id/);
  });
});

describe('NetlinkError', () => {
  it('names the operation, the object and the errno', () => {
    const err = new NetlinkError('RTM_NEWLINK', 'veth3a', 17);
    expect(String(err)).toBe('NetlinkError: RTM_NEWLINK "veth3a": EEXIST (File exists)');
    expect(err).toMatchObject({ errno: 17, errnoCode: 'EEXIST', op: 'RTM_NEWLINK', object: 'veth3a', code: 'TSNET_ERR_NETLINK' });
    expect(new NetlinkError('RTM_NEWLINK', 'x', 95, 'Unknown device type').message).toBe(
      'RTM_NEWLINK "x": EOPNOTSUPP (Operation not supported): Unknown device type',
    );
  });
});
