import { readFileSync, statSync } from 'node:fs';
import { expect, it } from 'vitest';
import { NetlinkSocket } from '../../src/netlink/socket.js';
import { NetNs, NetnsError } from '../../src/netns/netns.js';
import { describeKernel, useLab } from '../helpers/lab.js';

describeKernel('network namespaces', () => {
  const lab = useLab();

  it('creates, lists, opens and deletes persistent namespaces, pinned as bind mounts', async () => {
    const l = lab();
    const ns = l.ns('ns-a');
    expect(l.netns.list()).toEqual(expect.arrayContaining(['host', 'ns-a']));
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).toContain(ns.path!);
    // A namespace of its own: only lo, down.
    expect((await l.ip(ns, 'link')).map((x) => x.ifname)).toEqual(['lo']);
    expect(l.netns.open('ns-a').path).toBe(ns.path);

    const dup = (() => {
      try {
        l.netns.create('ns-a');
      } catch (err) {
        return err;
      }
    })();
    expect(dup).toBeInstanceOf(NetnsError);
    expect(String(dup)).toBe('NetnsError: netns add "ns-a": EEXIST (File exists)');

    l.netns.delete('ns-a');
    expect(l.netns.list()).not.toContain('ns-a');
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(ns.path!);
    expect(() => l.netns.delete('ns-a')).toThrow(/netns del "ns-a": ENOENT/);
    expect(() => l.netns.delete('ns-a', { ignoreMissing: true })).not.toThrow();
    expect(() => l.netns.create('../escape')).toThrow(/network namespace name/);
  });

  it('writes and reads sysctls inside a namespace without touching the host', () => {
    const l = lab();
    const hostValue = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();
    const ns = l.ns('ns-sysctl');
    ns.sysctlWrite('net/ipv4/ip_forward', hostValue === '1' ? '0' : '1');
    expect(ns.sysctlRead('net/ipv4/ip_forward')).toBe(hostValue === '1' ? '0' : '1');
    expect(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim()).toBe(hostValue);
    expect(() => ns.sysctlWrite('net/ipv4/no_such_key', '1')).toThrow(/sysctl write "ns-sysctl: net\/ipv4\/no_such_key": ENOENT/);
    expect(() => ns.sysctlWrite('../../etc/passwd', '1')).toThrow(/not a path below \/proc\/sys/);
  });

  it('creates a namespace off the calling thread with a sysctl set at its birth, and leaves nothing when that fails', async () => {
    const l = lab();
    const hostValue = readFileSync('/proc/sys/net/ipv6/conf/default/disable_ipv6', 'utf8').trim();
    const ns = await l.netns.createAsync('ns-born', ['net/ipv6/conf/default/disable_ipv6', hostValue === '1' ? '0' : '1']);
    try {
      expect(readFileSync('/proc/self/mountinfo', 'utf8')).toContain(ns.path!);
      expect(ns.sysctlRead('net/ipv6/conf/default/disable_ipv6')).toBe(hostValue === '1' ? '0' : '1');
      expect(readFileSync('/proc/sys/net/ipv6/conf/default/disable_ipv6', 'utf8').trim()).toBe(hostValue);
    } finally {
      l.netns.delete('ns-born');
    }
    await expect(l.netns.createAsync('ns-unborn', ['net/ipv4/no_such_key', '1'])).rejects.toThrow(/netns add "ns-unborn": ENOENT/);
    expect(l.netns.list()).not.toContain('ns-unborn');
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain('ns-unborn');
  });

  it('opens a namespace by process id, and refuses missing ones with a clear error', async () => {
    const l = lab();
    expect(NetNs.ofPid(process.pid).path).toBe(`/proc/${process.pid}/ns/net`);
    expect(() => NetNs.ofPid(0x3ffffff0)).toThrow(/process 1073741808 does not exist/);
    expect(() => NetNs.fromPath(`${l.dir}/netns/missing`)).toThrow(/does not exist/);
    // A namespace file that vanished between lookup and use: the native call reports ENOENT.
    expect(() => NetlinkSocket.open(`${l.dir}/netns/missing`)).toThrow(/socket ".*missing": ENOENT/);
  });

  it('never leaves the calling thread in another namespace', async () => {
    const l = lab();
    const own = statSync('/proc/thread-self/ns/net').ino;
    const ns = l.ns('ns-thread');
    const h = l.handle(ns);
    await h.linkList();
    ns.sysctlRead('net/ipv4/ip_forward');
    expect(() => NetlinkSocket.open(`${l.dir}/netns/missing`)).toThrow();
    expect(statSync('/proc/thread-self/ns/net').ino).toBe(own);
    expect(statSync(ns.path!).ino).not.toBe(own);
  });
});
