import { expect, it, vi } from 'vitest';
import { addBridgePort, attachVethEndpoints, type VethEndpointSpec } from '../../src/drivers/bridge/veth-endpoint.js';
import { requestUntilEcho } from '../../src/netlink/echoed.js';
import { NetlinkError } from '../../src/netlink/errors.js';
import { linkAddRequest, linkDeleteRequest, linkSetRequest } from '../../src/netlink/link.js';
import { describeKernel, isRoot, useLab, type IpJson } from '../helpers/lab.js';

const byName = (links: IpJson[], name: string): IpJson | undefined => links.find((l) => l.ifname === name);

describeKernel('links', () => {
  const lab = useLab();

  it('creates a veth pair with the peer directly inside another namespace, seen by iproute2', async () => {
    const l = lab();
    const c1 = l.ns('links-c1');
    const h = l.handle();
    const link = await h.linkAdd({ kind: 'veth', name: 'vethA', peer: { name: 'eth0', netns: c1, mac: '02:42:0a:00:00:02' } });
    expect(link).toMatchObject({ name: 'vethA', kind: 'veth', up: false });
    const hostLinks = await l.ip(l.host, '-d', 'link', 'show');
    const host = byName(hostLinks, 'vethA');
    expect(host?.ifindex).toBe(link.index);
    expect((host?.linkinfo as { info_kind: string }).info_kind).toBe('veth');
    const inC1 = await l.ip(c1, 'link', 'show', 'eth0');
    expect(inC1[0]).toMatchObject({ ifname: 'eth0', address: '02:42:0a:00:00:02', ifindex: link.linkIndex });
    await h.linkDelete('vethA');
    expect(byName(await l.ip(l.host, 'link'), 'vethA')).toBeUndefined();
    expect(await l.ip(c1, 'link')).toHaveLength(1); // only lo: the peer went with its pair
  });

  it('makes a bridge port in one send (the pair, then its tag and up by its name), and removes the pair when the finish fails', async () => {
    const l = lab();
    const c1 = l.ns('links-port');
    const h = l.handle();
    const br = await h.linkAdd({ kind: 'bridge', name: 'br-port', up: true });
    const sends = h.stats.sends;
    const created = await c1.withFd((fd) =>
      addBridgePort(h, { hostName: 'vethport1', peerName: 'eth0', peerNetnsFd: fd, bridgeIndex: br.index, alias: 'tsnet:endpoint:p1', hairpin: true }),
    );
    expect(h.stats.sends - sends).toBe(1);
    const port = byName(await l.ip(l.host, '-d', 'link', 'show'), 'vethport1');
    expect(port).toMatchObject({ ifindex: created!.index, ifalias: 'tsnet:endpoint:p1', master: 'br-port' });
    expect(port?.flags).toContain('UP');
    expect((await l.ip(c1, 'link', 'show', 'eth0'))[0]?.ifindex).toBe(created!.linkIndex);
    // A finish the kernel refuses (a veth as a master): the pair this call made goes again, and the error is said.
    const refused = await h
      .linkCreateUnique(
        linkAddRequest({ kind: 'veth', name: 'vethport2', peer: { name: 'vethport2p' } }),
        [linkSetRequest('vethport2', { masterIndex: created!.index })],
        'vethport2',
      )
      .catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(NetlinkError);
    expect((await l.ip(l.host, 'link')).filter((x) => String(x.ifname).startsWith('vethport2'))).toEqual([]);
  });

  it('makes many endpoints with their host ends in one send; one refused on the host or in its sandbox leaves the others', async () => {
    const l = lab();
    const h = l.handle();
    const br = await h.linkAdd({ kind: 'bridge', name: 'br-many', up: true });
    await l.ip(l.host, 'addr', 'add', '10.77.0.1/24', 'dev', 'br-many');
    const boxes = [0, 1, 2, 3].map((i) => l.ns(`links-many${i}`));
    const spec = (i: number): VethEndpointSpec => ({
      hostName: `vethmany${i}`,
      containerName: 'eth0',
      bridgeIndex: br.index,
      sandbox: boxes[i]!,
      sandboxHandle: l.handle(boxes[i]!),
      alias: `tsnet:endpoint:m${i}`,
      hairpin: true,
      address: `10.77.0.${i + 2}/24`,
      gateway: '10.77.0.1',
    });
    const sends = h.stats.sends;
    const outcomes = await attachVethEndpoints(h, [
      spec(0),
      { ...spec(1), containerName: 'lo' }, // refused on the host: its sandbox has an lo already
      { ...spec(2), gateway: '10.99.0.1' }, // refused in its sandbox: a gateway off its subnet
      spec(3),
    ]);
    expect(h.stats.sends - sends).toBe(2); // one for the four host ends, one to delete the third's pair
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    expect((outcomes[1] as PromiseRejectedResult).reason).toMatchObject({ errno: 17 }); // EEXIST
    expect(String((outcomes[2] as PromiseRejectedResult).reason)).toMatch(/RTM_NEWROUTE "default via 10.99.0.1": ENETUNREACH/u);
    const ports = (await l.ip(l.host, 'link')).filter((x) => String(x.ifname).startsWith('vethmany'));
    expect(ports.map((x) => [x.ifname, x.master])).toEqual([
      ['vethmany0', 'br-many'],
      ['vethmany3', 'br-many'],
    ]);
    for (const i of [0, 3]) {
      expect((await l.ip(boxes[i]!, 'route', 'show', 'default'))[0]).toMatchObject({ gateway: '10.77.0.1', dev: 'eth0' });
      expect((await l.ip(boxes[i]!, 'addr', 'show', 'eth0'))[0]?.addr_info).toContainEqual(expect.objectContaining({ local: `10.77.0.${i + 2}` }));
    }
    expect((await l.ip(boxes[2]!, 'link')).map((x) => x.ifname)).toEqual(['lo']);
  });

  it('creates a bridge with an alias, enslaves a veth, sets MTU, MAC and up/down', async () => {
    const l = lab();
    const h = l.handle();
    const br = await h.linkAdd({ kind: 'bridge', name: 'br-test', alias: 'tsnet:network:abc123', mtu: 1400, up: true });
    const dummy = await h.linkAdd({ kind: 'veth', name: 'dum0', mac: '02:00:00:00:00:0a', peer: { name: 'dum0p' } });
    await h.linkSetMaster(dummy.index, br.index);
    await h.linkSetMtu('dum0', 1400);
    await h.linkSetUp(dummy.index);
    const links = await l.ip(l.host, '-d', 'link', 'show');
    expect(byName(links, 'br-test')).toMatchObject({ ifalias: 'tsnet:network:abc123', mtu: 1400 });
    expect(byName(links, 'dum0')).toMatchObject({ master: 'br-test', address: '02:00:00:00:00:0a', mtu: 1400 });
    expect(byName(links, 'dum0')?.flags).toContain('UP');

    const seen = await h.linkGet(dummy.index);
    expect(seen).toMatchObject({ name: 'dum0', masterIndex: br.index, slaveKind: 'bridge', up: true, kind: 'veth' });
    expect((await h.linkGet('br-test')).alias).toBe('tsnet:network:abc123');

    await h.linkSetNoMaster('dum0');
    await h.linkSetDown('dum0');
    const after = byName(await l.ip(l.host, 'link', 'show'), 'dum0');
    expect(after?.master).toBeUndefined();
    expect(after?.flags).not.toContain('UP');
    await h.linkDeleteMany(['dum0', 'br-test']);
  });

  it('renames a link, changes its MAC and alias, and moves it to another namespace', async () => {
    const l = lab();
    const c2 = l.ns('links-c2');
    const h = l.handle();
    const d = await h.linkAdd({ kind: 'veth', name: 'before0', peer: { name: 'before0p' } });
    await h.linkRename(d.index, 'after0');
    await h.linkSetMac('after0', '02:aa:bb:cc:dd:ee');
    await h.linkSetAlias('after0', 'tsnet:endpoint:ep1');
    expect(byName(await l.ip(l.host, 'link'), 'after0')).toMatchObject({ address: '02:aa:bb:cc:dd:ee', ifalias: 'tsnet:endpoint:ep1' });
    await h.linkSetNs('after0', c2);
    expect(byName(await l.ip(l.host, 'link'), 'after0')).toBeUndefined();
    expect(byName(await l.ip(c2, 'link'), 'after0')).toBeDefined();
  });

  it('creates vxlan and macvlan links with their options', async () => {
    const l = lab();
    const h = l.handle();
    const parent = await h.linkAdd({ kind: 'bridge', name: 'uplink0', up: true });
    await h.addrAdd(parent.index, '192.0.2.10/24');
    await h.linkAdd({ kind: 'vxlan', name: 'vx42', vni: 42, port: 4789, local: '192.0.2.10', parentIndex: parent.index, learning: false });
    await h.linkAdd({ kind: 'macvlan', name: 'mv0', parentIndex: parent.index, mode: 'bridge' });
    const links = await l.ip(l.host, '-d', 'link', 'show');
    const vx = byName(links, 'vx42')?.linkinfo as { info_kind: string; info_data: Record<string, unknown> };
    expect(vx.info_kind).toBe('vxlan');
    expect(vx.info_data).toMatchObject({ id: 42, port: 4789, local: '192.0.2.10', learning: false });
    const mv = byName(links, 'mv0')?.linkinfo as { info_kind: string; info_data: Record<string, unknown> };
    expect(mv).toMatchObject({ info_kind: 'macvlan', info_data: { mode: 'bridge' } });
    expect((await h.linkGet('vx42')).vxlan).toMatchObject({ vni: 42, port: 4789, local: '192.0.2.10' });
    expect((await h.linkGet('mv0')).macvlan).toEqual({ mode: 'bridge' });
  });

  it('decodes links that iproute2 created', async () => {
    const l = lab();
    const c3 = l.ns('links-c3');
    await l.exec(l.host, 'ip', ['link', 'add', 'ipbr0', 'type', 'bridge', 'stp_state', '1']);
    await l.exec(l.host, 'ip', ['link', 'add', 'ipveth0', 'mtu', '1450', 'type', 'veth', 'peer', 'name', 'ippeer0', 'netns', c3.path!]);
    await l.exec(l.host, 'ip', ['link', 'set', 'ipveth0', 'master', 'ipbr0']);
    await l.exec(l.host, 'ip', ['link', 'set', 'ipbr0', 'alias', 'made by ip', 'address', '02:11:22:33:44:55', 'up']);
    const h = l.handle();
    const links = await h.linkList();
    const ours = links.map((x) => x.name);
    const theirs = (await l.ip(l.host, 'link')).map((x) => x.ifname);
    expect(ours).toEqual(theirs);
    const br = links.find((x) => x.name === 'ipbr0')!;
    expect(br).toMatchObject({ kind: 'bridge', mtu: 1450, alias: 'made by ip', mac: '02:11:22:33:44:55', up: true, bridge: { stp: true } });
    const veth = links.find((x) => x.name === 'ipveth0')!;
    const peer = (await l.ip(c3, 'link', 'show', 'ippeer0'))[0];
    expect(veth).toMatchObject({ kind: 'veth', masterIndex: br.index, linkIndex: peer?.ifindex });
  });

  it('reports kernel refusals as typed errors: EEXIST, ENODEV, a missing namespace', async () => {
    const l = lab();
    const h = l.handle();
    await h.linkAdd({ kind: 'bridge', name: 'dup0' });
    const dup = await h.linkAdd({ kind: 'bridge', name: 'dup0' }).catch((e: unknown) => e);
    expect(dup).toBeInstanceOf(NetlinkError);
    expect(dup).toMatchObject({ errnoCode: 'EEXIST', op: 'RTM_NEWLINK', object: 'dup0' });
    expect(String(dup)).toMatch(/^NetlinkError: RTM_NEWLINK "dup0": EEXIST \(File exists\)/);

    const missing = await h.linkGet('nosuch0').catch((e: unknown) => e);
    expect(missing).toMatchObject({ errnoCode: 'ENODEV', op: 'RTM_GETLINK' });
    expect(await h.linkFind('nosuch0')).toBeUndefined();
    await expect(h.linkDelete('nosuch0')).rejects.toMatchObject({ errnoCode: 'ENODEV', op: 'RTM_DELLINK' });
    await expect(h.linkSetMaster('dup0', 99999)).rejects.toMatchObject({ op: 'RTM_NEWLINK' });
    // The kernel's own explanation (extended ACK) is kept.
    const noParent = await h.linkAdd({ kind: 'macvlan', name: 'mv9', parentIndex: 99999 }).catch((e: unknown) => e);
    expect(noParent).toMatchObject({ op: 'RTM_NEWLINK', object: 'mv9' });
    const badKind = await h.linkAdd({ kind: 'bridge', name: 'x0', vlanFiltering: true, mtu: 70000 }).catch((e: unknown) => e);
    expect(String(badKind)).toMatch(/MTU 70000/);
    expect(() => l.netns.open('does-not-exist')).toThrow(/does not exist/);
  });

  it.runIf(isRoot)('creates a dummy link where the kernel has the dummy driver', async (ctx) => {
    const l = lab();
    if (!(await l.kernelSupports('dummy'))) return ctx.skip('this kernel has no dummy driver');
    const h = l.handle();
    const d = await h.linkAdd({ kind: 'dummy', name: 'dum9', mtu: 9000 });
    expect((await l.ip(l.host, '-d', 'link', 'show', 'dum9'))[0]).toMatchObject({ ifindex: d.index, mtu: 9000 });
  });

  it('deletes many links in one request, counting those already gone as deleted', async () => {
    const l = lab();
    const c4 = l.ns('links-c4');
    const h = l.handle();
    const names = Array.from({ length: 20 }, (_, i) => `many${i}`);
    for (const name of names) await h.linkAdd({ kind: 'veth', name, peer: { name: `p${name}`, netns: c4 } });
    await h.linkDelete('many3');
    expect(await h.linkDeleteMany(names)).toBe(19);
    expect((await l.ip(l.host, 'link')).filter((x) => String(x.ifname).startsWith('many'))).toEqual([]);
    expect(await l.ip(c4, 'link')).toHaveLength(1);
    expect(await h.linkDeleteMany(['many1', 'many2'])).toBe(0);
  });

  it('finds many links by name in one send, undefined for those that do not exist', async () => {
    const l = lab();
    const h = l.handle();
    for (const name of ['find0', 'find1']) await h.linkAdd({ kind: 'bridge', name });
    const sends = h.stats.sends;
    const found = await h.linkFindMany(['find0', 'nosuchlink', 'find1']);
    expect(h.stats.sends - sends).toBe(1);
    expect(found.map((link) => link?.name)).toEqual(['find0', undefined, 'find1']);
    expect(found[0]!.index).toBe(byName(await l.ip(l.host, 'link'), 'find0')?.ifindex);
    expect(await h.linkFindMany([])).toEqual([]);
  });
});

describeKernel('a deletion answered at its echo', () => {
  const lab = useLab();

  it('goes on once the kernel has taken the bridge out of the namespace, while its send still runs', async () => {
    const l = lab();
    const h = l.handle();
    const br = await h.linkAdd({ kind: 'bridge', name: 'br-echo', up: true });
    await h.addrAdd(br.index, '10.231.0.1/24');
    const change = await requestUntilEcho(l.host.nativePath, linkDeleteRequest(br.index), 30_000);
    // This kernel echoes a link's deletion; an older one would answer at the end ('answer').
    expect(change.by).toBe('echo');
    // Out of the namespace: the link, its address and its route, and its name is free again.
    expect(byName(await l.ip(l.host, 'link'), 'br-echo')).toBeUndefined();
    expect(await l.ip(l.host, '-4', 'route', 'show', '10.231.0.0/24')).toEqual([]);
    const again = await h.linkAdd({ kind: 'bridge', name: 'br-echo' });
    expect(again.index).not.toBe(br.index);
    await change.finished;
  });

  it("is refused with the kernel's error, and the handle's form deletes and frees names as linkDelete does", async () => {
    const l = lab();
    const h = l.handle();
    await expect(requestUntilEcho(l.host.nativePath, linkDeleteRequest('nosuch1'), 30_000)).rejects.toMatchObject({
      errnoCode: 'ENODEV',
      op: 'RTM_DELLINK',
      object: 'nosuch1',
    });
    await expect(h.linkDeleteUnlisted('nosuch2')).rejects.toMatchObject({ errnoCode: 'ENODEV', op: 'RTM_DELLINK' });
    // More at once than may finish in the background (two): the two beyond wait for their own end, as linkDelete
    // does; all are gone after.
    const names = ['brq0', 'brq1', 'brq2', 'brq3'];
    for (const name of names) await h.linkAdd({ kind: 'bridge', name, up: true });
    const waited = vi.spyOn(h, 'linkDelete');
    await Promise.all(names.map((name) => h.linkDeleteUnlisted(name)));
    expect(waited.mock.calls).toEqual([['brq2'], ['brq3']]);
    expect((await l.ip(l.host, 'link')).filter((x) => String(x.ifname).startsWith('brq'))).toEqual([]);
  });
});
