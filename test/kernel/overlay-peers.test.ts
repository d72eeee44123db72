/**
 * An overlay network's remote containers in the kernel (drivers/overlay/peers.ts): the VXLAN device's forwarding
 * entries, its bridge's static entries and the neighbours its ARP proxy answers from, programmed as differences and
 * read back with iproute2's `bridge` and `ip`.
 */
import { expect, it } from 'vitest';
import { programPeers } from '../../src/drivers/overlay/peers.js';
import type { NetNs } from '../../src/netns/netns.js';
import { describeKernel, useLab, type Lab } from '../helpers/lab.js';

interface FdbJson {
  mac: string;
  dst?: string;
  state?: string;
  flags?: string[];
  master?: string;
}

async function tables(l: Lab, ns: NetNs, dev: string) {
  const fdb = JSON.parse((await l.exec(ns, 'bridge', ['-j', 'fdb', 'show', 'dev', dev])).stdout || '[]') as FdbJson[];
  const neigh = await l.ip<{ dst: string; lladdr: string; state: string[] }[]>(ns, 'neigh', 'show', 'dev', dev);
  return {
    tunnel: fdb
      .filter((e) => (e.flags ?? []).includes('self') && e.dst)
      .map((e) => `${e.mac} ${e.dst}`)
      .sort(),
    bridge: fdb
      .filter((e) => e.state === 'static' && !(e.flags ?? []).includes('self'))
      .map((e) => e.mac)
      .sort(),
    neighbours: neigh.map((n) => `${n.dst} ${n.lladdr} ${n.state.join(',')}`).sort(),
  };
}

describeKernel('overlay peers', () => {
  const lab = useLab();

  it('programs exactly the peers given, changing only what differs', async () => {
    const l = lab();
    const h = l.handle();
    const br = await h.linkAdd({ kind: 'bridge', name: 'ov-test', up: true });
    const vx = await h.linkAdd({
      kind: 'vxlan',
      name: 'vx-test',
      vni: 4096,
      port: 4789,
      local: '192.0.2.1',
      learning: false,
      proxy: true,
      masterIndex: br.index,
      up: true,
    });
    await h.linkSet(vx.index, { learning: false });
    // A stale entry behind the tunnel (a container gone, its MAC still pointing there): removed.
    await l.exec(l.host, 'bridge', ['fdb', 'add', '02:42:0a:d2:00:09', 'dev', 'vx-test', 'master', 'static']);

    await programPeers(h, vx.index, [
      { mac: '02:42:0a:d2:00:02', ipv4: '10.210.0.2', vtep: '192.0.2.2' },
      { mac: '02:42:0a:d2:00:03', ipv4: '10.210.0.3', vtep: '192.0.2.3' },
    ]);
    expect(await tables(l, l.host, 'vx-test')).toEqual({
      tunnel: ['02:42:0a:d2:00:02 192.0.2.2', '02:42:0a:d2:00:03 192.0.2.3'],
      bridge: ['02:42:0a:d2:00:02', '02:42:0a:d2:00:03'],
      neighbours: ['10.210.0.2 02:42:0a:d2:00:02 PERMANENT', '10.210.0.3 02:42:0a:d2:00:03 PERMANENT'],
    });

    // .3 moved to another host, .2 went, .4 came: one pipelined send, and the kernel has exactly the new set.
    const sends = h.stats.sends;
    await programPeers(h, vx.index, [
      { mac: '02:42:0a:d2:00:03', ipv4: '10.210.0.3', vtep: '192.0.2.4' },
      { mac: '02:42:0a:d2:00:04', ipv4: '10.210.0.4', vtep: '192.0.2.2' },
    ]);
    expect(h.stats.sends - sends).toBe(3); // two dumps, one send of the changes
    const after = await tables(l, l.host, 'vx-test');
    expect(after.tunnel).toEqual(['02:42:0a:d2:00:03 192.0.2.4', '02:42:0a:d2:00:04 192.0.2.2']);
    expect(after.neighbours).toEqual(['10.210.0.3 02:42:0a:d2:00:03 PERMANENT', '10.210.0.4 02:42:0a:d2:00:04 PERMANENT']);
    expect(after.bridge).toEqual(['02:42:0a:d2:00:03', '02:42:0a:d2:00:04']);

    // Nothing changes: nothing is sent but the two reads.
    const again = h.stats.sends;
    await programPeers(h, vx.index, [
      { mac: '02:42:0a:d2:00:03', ipv4: '10.210.0.3', vtep: '192.0.2.4' },
      { mac: '02:42:0a:d2:00:04', ipv4: '10.210.0.4', vtep: '192.0.2.2' },
    ]);
    expect(h.stats.sends - again).toBe(2);
    await programPeers(h, vx.index, []);
    expect(await tables(l, l.host, 'vx-test')).toEqual({ tunnel: [], bridge: [], neighbours: [] });
  });
});
