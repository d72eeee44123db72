/**
 * An "upstream" namespace that plays the internet for labs, tests and the demo: linked to tsnet's host
 * namespace by a veth pair (host 198.51.100.2, upstream 198.51.100.1, the host's default route through it) and
 * holding a "public" address, 203.0.113.10, on its loopback. It has no route back to container subnets, so a
 * container reaches it only through the host's NAT.
 */
import type { Handle } from '../netlink/handle.js';
import type { NetNs } from '../netns/netns.js';

export const UPSTREAM = { host: '198.51.100.2', gateway: '198.51.100.1', server: '203.0.113.10' } as const;

/** Wires upstream to the host; both handles stay the caller's. */
export async function linkUpstream(host: Handle, up: Handle, upstream: NetNs): Promise<void> {
  await host.linkSetUp('lo');
  const uplink = await host.linkAdd({ kind: 'veth', name: 'uplink0', up: true, peer: { name: 'wan0', netns: upstream } });
  await host.addrAdd(uplink.index, `${UPSTREAM.host}/24`);
  await host.routeAdd({ dst: 'default', gateway: UPSTREAM.gateway, oif: uplink.index });
  await up.linkSetUp('lo');
  await up.linkSetUp(uplink.linkIndex!);
  await up.addrAdd(uplink.linkIndex!, `${UPSTREAM.gateway}/24`);
  await up.addrAdd((await up.linkGet('lo')).index, `${UPSTREAM.server}/32`);
}
