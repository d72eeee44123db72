/**
 * An overlay network's remote endpoints in the kernel: per remote container, a forwarding entry on the VXLAN device
 * (its MAC through its host's tunnel endpoint), a static entry in the bridge's table (its MAC behind the VXLAN port,
 * which learns nothing: a MAC learnt there would outlive its container, and hide a local container that later gets
 * the same address and so the same MAC), and a neighbour entry (its address to its MAC) that the device's ARP proxy
 * answers from. Nothing floods, nothing is learnt. Programmed as differences from what is there.
 */
import { bridgeFdbDeleteRequest, bridgeFdbReplaceRequest, fdbDeleteRequest, fdbReplaceRequest } from '../../netlink/fdb.js';
import type { Handle } from '../../netlink/handle.js';
import { neighDeleteRequest, neighReplaceRequest } from '../../netlink/neigh.js';
import type { NetlinkRequest } from '../../netlink/socket.js';
import type { RemotePeer } from '../records.js';

/** Makes the VXLAN device's forwarding and neighbour entries exactly these peers'. */
export async function programPeers(host: Handle, vxlanIndex: number, peers: readonly RemotePeer[]): Promise<void> {
  const [fdb, neigh] = await Promise.all([host.fdbList(), host.neighList()]);
  const haveFdb = new Map(fdb.filter((e) => e.index === vxlanIndex && e.self && e.dst && e.mac !== '00:00:00:00:00:00').map((e) => [e.mac, e.dst!]));
  const haveBridge = new Set(fdb.filter((e) => e.index === vxlanIndex && e.master && !e.self && !e.permanent).map((e) => e.mac));
  const haveNeigh = new Map(neigh.filter((n) => n.index === vxlanIndex && n.address && n.state.includes('PERMANENT')).map((n) => [n.address!, n.mac]));
  const wantFdb = new Map(peers.map((p) => [p.mac, p.vtep]));
  const wantNeigh = new Map(peers.flatMap((p) => [p.ipv4, p.ipv6].flatMap((a) => (a ? [[a, p.mac] as const] : []))));
  const requests: NetlinkRequest<unknown>[] = [];
  for (const [mac, dst] of haveFdb) if (wantFdb.get(mac) !== dst) requests.push(fdbDeleteRequest(vxlanIndex, mac, dst));
  for (const [address, mac] of haveNeigh) if (wantNeigh.get(address) !== mac) requests.push(neighDeleteRequest(vxlanIndex, address));
  for (const mac of haveBridge) if (!wantFdb.has(mac)) requests.push(bridgeFdbDeleteRequest(vxlanIndex, mac));
  for (const [mac, dst] of wantFdb) if (haveFdb.get(mac) !== dst) requests.push(fdbReplaceRequest(vxlanIndex, mac, dst));
  for (const mac of wantFdb.keys()) if (!haveBridge.has(mac)) requests.push(bridgeFdbReplaceRequest(vxlanIndex, mac));
  for (const [address, mac] of wantNeigh) if (haveNeigh.get(address) !== mac) requests.push(neighReplaceRequest(vxlanIndex, address, mac));
  if (requests.length > 0) await host.pipeline(requests);
}
