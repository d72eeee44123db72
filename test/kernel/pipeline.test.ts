import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it, vi } from 'vitest';
import { addrAddRequest } from '../../src/netlink/addr.js';
import { NetlinkBatchError, NetlinkError } from '../../src/netlink/errors.js';
import { linkAddRequest, linkGetRequest, linkSetRequest } from '../../src/netlink/link.js';
import { NetlinkSocket, NetlinkTraffic } from '../../src/netlink/socket.js';
import { native } from '../../src/native/library.js';
import { describeKernel, useLab } from '../helpers/lab.js';

const openFds = (): number => readdirSync('/proc/self/fd').length;

describeKernel('pipelining and resources', () => {
  const lab = useLab();

  it('sends a lone request from the event loop, and from a worker thread while another is under way or the batch is long', async () => {
    const l = lab();
    const traffic = new NetlinkTraffic();
    const [a, b] = [NetlinkSocket.open(l.host.nativePath, { traffic }), NetlinkSocket.open(l.host.nativePath, { traffic })];
    const lib = native();
    const send = vi.spyOn(lib, 'send');
    const sendAsync = vi.spyOn(lib, 'sendAsync');
    try {
      await a.request(linkGetRequest('lo'));
      expect([send.mock.calls.length, sendAsync.mock.calls.length]).toEqual([1, 0]);
      // The second starts while the first waits for its answer: the event loop has other work, the kernel's goes on a thread.
      await Promise.all([a.request(linkGetRequest('lo')), b.request(linkGetRequest('lo'))]);
      expect([send.mock.calls.length, sendAsync.mock.calls.length]).toEqual([2, 1]);
      await a.pipeline(Array.from({ length: 16 }, () => linkGetRequest('lo')));
      expect(sendAsync.mock.calls.length).toBe(2);
      expect(traffic.inFlight).toBe(0);
    } finally {
      send.mockRestore();
      sendAsync.mockRestore();
      a.close();
      b.close();
    }
  });

  it('sends many requests in one go and matches every answer to its request', async () => {
    const l = lab();
    const h = l.handle();
    const br = await h.linkAdd({ kind: 'bridge', name: 'pbr0', up: true });
    const requests = Array.from({ length: 300 }, (_, i) => addrAddRequest(br.index, `10.${i >> 8}.${i & 255}.1/32`));
    await h.pipeline(requests);
    expect(await h.addrList({ family: 'inet', index: br.index })).toHaveLength(300);
    const links = (await h.pipeline([linkGetRequest('pbr0'), linkGetRequest('lo')])) as { name: string }[];
    expect(links.map((x) => x.name)).toEqual(['pbr0', 'lo']);
  });

  it('reports each failure of a pipeline with what every request did, and the kernel goes on past it', async () => {
    const l = lab();
    const h = l.handle();
    const err = await h
      .pipeline([
        linkAddRequest({ kind: 'bridge', name: 'pok0' }),
        linkAddRequest({ kind: 'bridge', name: 'pok0' }),
        linkSetRequest('nosuch9', { up: true }),
        linkAddRequest({ kind: 'bridge', name: 'pok1' }),
      ])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetlinkBatchError);
    const batch = err as NetlinkBatchError;
    expect(batch.results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    expect(batch.errors.map((e) => `${e.op} ${e.object} ${e.errnoCode}`)).toEqual(['RTM_NEWLINK pok0 EEXIST', 'RTM_NEWLINK nosuch9 ENODEV']);
    expect(batch.message).toBe('RTM_NEWLINK "pok0": EEXIST (File exists)');
    expect((await l.ip(l.host, 'link')).map((x) => x.ifname)).toEqual(expect.arrayContaining(['pok0', 'pok1']));
  });

  it('serialises concurrent callers on one handle', async () => {
    const l = lab();
    const h = l.handle();
    await Promise.all(Array.from({ length: 40 }, (_, i) => h.linkAdd({ kind: 'bridge', name: `cc${i}` })));
    const found = await Promise.all(Array.from({ length: 40 }, (_, i) => h.linkGet(`cc${i}`)));
    expect(found.map((x) => x.name)).toEqual(Array.from({ length: 40 }, (_, i) => `cc${i}`));
    await h.linkDeleteMany(found.map((x) => x.index));
  });

  it('creates and deletes 1,000 veth pairs without leaking an interface or a file descriptor', async () => {
    const l = lab();
    const c = l.ns('leak-c');
    const start = openFds();
    const h = l.handle();
    const inner = l.handle(c);
    for (let i = 0; i < 1000; i++) {
      const link = await h.linkAdd({ kind: 'veth', name: `lk${i}`, alias: `tsnet:endpoint:${i}`, peer: { name: `lp${i}`, netns: c } });
      expect(link.linkIndex).toBeGreaterThan(0);
      // Batches of 100 deletions pay one RCU grace period each.
      if (i % 100 === 99) await h.linkDeleteMany(Array.from({ length: 100 }, (_, j) => `lk${i - j}`));
    }
    expect((await h.linkList()).filter((x) => x.name.startsWith('lk'))).toEqual([]);
    expect((await inner.linkList()).map((x) => x.name)).toEqual(['lo']);
    expect((await l.ip(c, 'link')).map((x) => x.ifname)).toEqual(['lo']);
    h.close();
    inner.close();
    expect(openFds()).toBe(start);
    await expect(h.linkList()).rejects.toThrow(/closed/);
  });

  it('keeps the errno when the kernel refuses even to open a socket', () => {
    const l = lab();
    const notANamespace = join(l.dir, 'not-a-namespace');
    writeFileSync(notANamespace, '');
    // setns() on an fd that is not a namespace: the native call reports -EINVAL, the socket layer names it.
    const refused = (() => {
      try {
        NetlinkSocket.open(notANamespace);
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    expect(refused).toBeInstanceOf(NetlinkError);
    expect(refused).toMatchObject({ errno: 22, errnoCode: 'EINVAL', op: 'socket', object: notANamespace, code: 'TSNET_ERR_NETLINK' });
    expect((refused as Error).message).toBe(`socket "${notANamespace}": EINVAL (Invalid argument)`);
    expect(() => NetlinkSocket.open(join(l.dir, 'missing'))).toThrow(`socket "${join(l.dir, 'missing')}": ENOENT (No such file or directory)`);
  });
});
