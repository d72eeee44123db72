import { expect, it } from 'vitest';
import { describeKernel, useLab, type IpJson } from '../helpers/lab.js';

interface IpAddrInfo {
  family: string;
  local: string;
  prefixlen: number;
  broadcast?: string;
}

describeKernel('addresses, routes and neighbours', () => {
  const lab = useLab();

  /** A veth pair: lab host end "h-NAME" and container end "eth0" inside a new namespace, both up. */
  async function pair(name: string) {
    const l = lab();
    const ns = l.ns(name);
    const host = l.handle();
    const inner = l.handle(ns);
    const link = await host.linkAdd({ kind: 'veth', name: `h-${name}`, up: true, peer: { name: 'eth0', netns: ns } });
    await inner.linkSetUp(link.linkIndex!);
    await inner.linkSetUp('lo');
    return { l, ns, host, inner, hostIndex: link.index, innerIndex: link.linkIndex! };
  }

  it('adds, lists and deletes IPv4 and IPv6 addresses, as iproute2 sees them', async () => {
    const { l, ns, inner, innerIndex } = await pair('addr1');
    await inner.addrAdd(innerIndex, '10.1.0.2/24', { broadcast: true });
    await inner.addrAdd(innerIndex, 'fd00:1::2/64', { noDad: true });
    const seen = (await l.ip<(IpJson & { addr_info: IpAddrInfo[] })[]>(ns, 'addr', 'show', 'dev', 'eth0'))[0]!.addr_info;
    expect(seen).toContainEqual(expect.objectContaining({ family: 'inet', local: '10.1.0.2', prefixlen: 24, broadcast: '10.1.0.255' }));
    expect(seen).toContainEqual(expect.objectContaining({ family: 'inet6', local: 'fd00:1::2', prefixlen: 64 }));

    const ours = await inner.addrList({ index: innerIndex });
    expect(ours.map((a) => a.cidr)).toEqual(expect.arrayContaining(['10.1.0.2/24', 'fd00:1::2/64']));
    expect((await inner.addrList({ family: 'inet6', index: innerIndex })).every((a) => a.family === 'inet6')).toBe(true);

    await expect(inner.addrAdd(innerIndex, '10.1.0.2/24')).rejects.toMatchObject({ errnoCode: 'EEXIST', op: 'RTM_NEWADDR' });
    await inner.addrDelete(innerIndex, '10.1.0.2/24');
    await expect(inner.addrDelete(innerIndex, '10.1.0.2/24')).rejects.toMatchObject({ errnoCode: 'EADDRNOTAVAIL' });
    const left = (await l.ip<(IpJson & { addr_info: IpAddrInfo[] })[]>(ns, 'addr', 'show', 'dev', 'eth0'))[0]!.addr_info;
    expect(left.map((a) => a.local)).not.toContain('10.1.0.2');
  });

  it('decodes addresses that iproute2 added', async () => {
    const { l, ns, inner, innerIndex } = await pair('addr2');
    await l.exec(ns, 'ip', ['addr', 'add', '172.20.5.9/16', 'dev', 'eth0', 'label', 'eth0:web']);
    await l.exec(ns, 'ip', ['addr', 'add', '2001:db8:0:0::9/64', 'dev', 'eth0', 'nodad']);
    const ours = await inner.addrList({ index: innerIndex });
    expect(ours).toContainEqual(expect.objectContaining({ family: 'inet', address: '172.20.5.9', prefixLen: 16, label: 'eth0:web' }));
    expect(ours).toContainEqual(expect.objectContaining({ family: 'inet6', address: '2001:db8::9', prefixLen: 64 }));
  });

  it('adds a default route via a gateway, on-link routes, replaces and deletes them (IPv4 and IPv6)', async () => {
    const { l, ns, inner, innerIndex } = await pair('route1');
    await inner.addrAdd(innerIndex, '10.2.0.2/24');
    await inner.addrAdd(innerIndex, 'fd00:2::2/64', { noDad: true });
    await inner.routeAdd({ dst: 'default', gateway: '10.2.0.1', oif: innerIndex });
    await inner.routeAdd({ dst: '198.51.100.0/24', gateway: '203.0.113.1', oif: innerIndex, onlink: true });
    await inner.routeAdd({ dst: '10.99.0.0/16', oif: innerIndex });
    await inner.routeAdd({ dst: 'default', gateway: 'fd00:2::1', oif: innerIndex });

    const v4 = await l.ip(ns, 'route', 'show');
    expect(v4).toContainEqual(expect.objectContaining({ dst: 'default', gateway: '10.2.0.1', dev: 'eth0' }));
    expect(v4).toContainEqual(expect.objectContaining({ dst: '198.51.100.0/24', gateway: '203.0.113.1', flags: ['onlink'] }));
    expect(v4).toContainEqual(expect.objectContaining({ dst: '10.99.0.0/16', dev: 'eth0', scope: 'link' }));
    expect(await l.ip(ns, '-6', 'route', 'show')).toContainEqual(expect.objectContaining({ dst: 'default', gateway: 'fd00:2::1' }));

    const ours = await inner.routeList({ family: 'inet' });
    expect(ours).toContainEqual(expect.objectContaining({ dst: 'default', gateway: '10.2.0.1', oif: innerIndex, table: 254 }));
    expect(ours).toContainEqual(expect.objectContaining({ dst: '198.51.100.0/24', onlink: true }));
    expect(ours).toContainEqual(expect.objectContaining({ dst: '10.2.0.0/24', protocol: 2 })); // the kernel's own
    expect(await inner.routeList({ family: 'inet6' })).toContainEqual(expect.objectContaining({ dst: 'default', gateway: 'fd00:2::1' }));

    await expect(inner.routeAdd({ dst: 'default', gateway: '10.2.0.1', oif: innerIndex })).rejects.toMatchObject({ errnoCode: 'EEXIST' });
    await inner.routeReplace({ dst: 'default', gateway: '10.2.0.254', oif: innerIndex });
    expect((await l.ip(ns, 'route', 'show', 'default'))[0]).toMatchObject({ gateway: '10.2.0.254' });
    await inner.routeDelete({ dst: 'default', family: 'inet' });
    expect(await l.ip(ns, 'route', 'show', 'default')).toEqual([]);
    await expect(inner.routeDelete({ dst: '10.77.0.0/16' })).rejects.toMatchObject({ errnoCode: 'ESRCH', op: 'RTM_DELROUTE' });
    await expect(inner.routeAdd({ dst: '10.50.0.0/16', gateway: '192.0.2.77' })).rejects.toMatchObject({ errnoCode: 'ENETUNREACH' });
  });

  it('decodes routes that iproute2 added, in other tables too', async () => {
    const { l, ns, inner, innerIndex } = await pair('route2');
    await l.exec(ns, 'ip', ['addr', 'add', '10.3.0.2/24', 'dev', 'eth0']);
    await l.exec(ns, 'ip', ['route', 'add', '10.30.0.0/16', 'via', '10.3.0.1', 'metric', '50']);
    await l.exec(ns, 'ip', ['route', 'add', 'default', 'via', '10.3.0.1', 'table', '1000']);
    expect(await inner.routeList()).toContainEqual(expect.objectContaining({ dst: '10.30.0.0/16', gateway: '10.3.0.1', priority: 50, oif: innerIndex }));
    expect(await inner.routeList({ table: 1000 })).toEqual([expect.objectContaining({ dst: 'default', gateway: '10.3.0.1', table: 1000 })]);
  });

  it('lists neighbours learnt from real traffic', async () => {
    const { l, ns, host, inner, hostIndex, innerIndex } = await pair('neigh1');
    await host.addrAdd(hostIndex, '10.4.0.1/24');
    await inner.addrAdd(innerIndex, '10.4.0.2/24');
    expect(await l.ping(ns, '10.4.0.1')).toBe(true);
    const hostMac = (await host.linkGet(hostIndex)).mac;
    const neighbours = await inner.neighList({ family: 'inet' });
    expect(neighbours).toContainEqual(expect.objectContaining({ index: innerIndex, address: '10.4.0.1', mac: hostMac }));
  });
});
