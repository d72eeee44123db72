/**
 * The kernel's floor in the cnm bench: endpoints made by bench/floor.c in sandboxes of its own, on bridges like
 * tsnet's networks, and their teardown as the kernel alone does it.
 */
import { Handle } from '../src/netlink/handle.js';
import { linkDeleteGroupRequest, linkSetRequest } from '../src/netlink/link.js';
import type { NetNs, NetnsDirectory } from '../src/netns/netns.js';
import { Floor } from './floor.js';
import { timeMs } from './stats.js';

/** The kernel's floor for an endpoint (bench/floor.c) in a fresh namespace of its own, with a bridge of the same subnet. */
export async function floorHost(dir: NetnsDirectory): Promise<FloorHost> {
  const ns = dir.create('host-floor');
  const handle = Handle.open(ns);
  try {
    await handle.linkSet('lo', { up: true });
    const bridge = await handle.linkAdd({ kind: 'bridge', name: 'br0', up: true });
    await handle.addrAdd(bridge.index, '10.90.0.1/16');
    // The twin of tsnet's network for the attaches 8 at a time: its endpoints are made, untimed, for the teardown.
    const twin = await handle.linkAdd({ kind: 'bridge', name: 'br1', up: true });
    await handle.addrAdd(twin.index, '10.91.0.1/16');
    return { run: Floor.start(ns.path!), ns, bridgeIndex: bridge.index, twinIndex: twin.index, sandboxes: [] };
  } finally {
    handle.close();
  }
}

export interface FloorHost {
  readonly run: Floor;
  readonly ns: NetNs;
  readonly bridgeIndex: number;
  readonly twinIndex: number;
  /** The names of the floor's sandboxes' namespaces. */
  readonly sandboxes: string[];
}

/** A sandbox of the floor's (IPv6 off, as tsnet's) and its endpoint on one of its bridges: the kernel's time for it. */
export function floorEndpoint(dir: NetnsDirectory, floor: FloorHost, twin: boolean): Promise<number> {
  const n = floor.sandboxes.length;
  const name = `fl${n}`;
  const ns = dir.create(name);
  floor.sandboxes.push(name);
  ns.sysctlWrite('net/ipv6/conf/all/disable_ipv6', '1');
  const net = twin ? 91 : 90;
  const i = n + 2;
  const address = `10.${net}.${i >> 8}.${i & 255}/16`;
  const bridgeIndex = twin ? floor.twinIndex : floor.bridgeIndex;
  return floor.run.endpoint({ sandboxPath: ns.path!, bridgeIndex, hostName: `vf${n}`, address, gateway: `10.${net}.0.1` });
}

/**
 * The kernel's floor for the teardown: as many sandboxes as tsnet tears down, made alike on two bridges; their veth
 * pairs deleted in one request (a device group, as tsnet does) and their namespaces released.
 */
export async function floorTeardown(dir: NetnsDirectory, floor: FloorHost): Promise<number> {
  const handle = Handle.open(floor.ns);
  try {
    const veths = (await handle.linkList()).filter((l) => l.kind === 'veth');
    const group = 0x4242;
    await handle.pipeline(veths.map((l) => linkSetRequest(l.index, { group })));
    return await timeMs(async () => {
      await handle.request(linkDeleteGroupRequest(group));
      for (const name of floor.sandboxes) dir.delete(name);
    });
  } finally {
    handle.close();
  }
}
