/**
 * Wires: veth pairs made straight between two namespaces (a lab's point-to-point links; a host end may be a port of
 * a bridge). Each is made in two sends per side (the pair with its peer born in the other namespace, then tags,
 * addresses and up), recorded, tagged "tsnet:wire:ID" on both ends, and goes with either sandbox or its owner.
 */
import { createHash } from 'node:crypto';
import { InvalidArgumentError, TsnetError } from '../../errors.js';
import { Subnet, addressOf, parseAddress } from '../../ipam/subnet.js';
import { neighReplaceRequest } from '../../netlink/neigh.js';
import { ownerTag } from '../../drivers/records.js';
import { addrAddRequest } from '../../netlink/addr.js';
import type { Handle } from '../../netlink/handle.js';
import { linkAddRequest, linkSetRequest } from '../../netlink/link.js';
import type { NetlinkRequest } from '../../netlink/socket.js';
import type { NetNs } from '../../netns/netns.js';
import { newId, type CnmCore } from '../core.js';
import type { WireEnd, WireRecord } from '../types.js';
import { UndoStack } from '../undo.js';
import { hiddenPair } from './delay.js';

export type WireSpec = Omit<WireRecord, 'id'>;

const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/u;

/** The namespace and a handle of one end. */
function side(core: CnmCore, end: WireEnd): { ns: NetNs; handle: Handle } {
  if (!end.sandboxId) return { ns: core.deps.hostNs, handle: core.driverCtx.host };
  const s = core.sandbox(end.sandboxId);
  return { ns: s.ns, handle: s.handle };
}

function check(core: CnmCore, spec: WireSpec): void {
  for (const end of spec.ends) {
    if (!IFNAME.test(end.ifname)) throw new InvalidArgumentError(`invalid interface name "${end.ifname}"`);
    if (end.sandboxId) core.sandbox(end.sandboxId);
    if (end.bridge && end.sandboxId) throw new InvalidArgumentError(`only a host end can be a bridge port (${end.ifname})`);
  }
}

/** A wire end's MAC when none was given: locally administered, from the wire's id (stable across re-creation). */
export const wireMac = (wireId: string, end: number): string =>
  ['02', ...[...createHash('sha256').update(`${wireId}:${end}`).digest().subarray(0, 5)].map((b) => b.toString(16).padStart(2, '0'))].join(':');

/**
 * Permanent neighbour entries for the peer's addresses on this end's subnets: both ends are known, so no ARP or NDP
 * is needed (and no entry of the host's shared neighbour table limits is spent resolving them).
 */
function peerNeighbours(index: number, end: WireEnd, peer: WireEnd): NetlinkRequest<unknown>[] {
  if (!peer.mac) return [];
  const subnets = end.addresses.map((a) => Subnet.parse(a));
  return peer.addresses
    .map(addressOf)
    .filter((ip) => subnets.some((s) => s.contains(parseAddress(ip))))
    .map((ip) => neighReplaceRequest(index, ip, peer.mac!));
}

/** What one end gets after the pair exists: its tag, addresses, up, its peer's neighbours; IPv6 enabled first where needed. */
function finishEnd(ns: NetNs, index: number, end: WireEnd, peer: WireEnd, tag: string, masterIndex?: number): NetlinkRequest<unknown>[] {
  if (end.addresses.some((a) => a.includes(':')) && end.sandboxId) ns.sysctlWrite(`net/ipv6/conf/${end.ifname}/disable_ipv6`, '0');
  return [
    linkSetRequest(index, { alias: tag, ...(masterIndex !== undefined ? { masterIndex } : {}) }),
    ...end.addresses.map((a) => addrAddRequest(index, a, { noDad: true, ...(a.includes(':') ? {} : { broadcast: true }) })),
    linkSetRequest(index, { up: true }),
    ...peerNeighbours(index, end, peer),
  ];
}

/** The kernel side of one wire; the pair is removed again if a later step fails. */
export async function makeWire(core: CnmCore, wire: WireRecord): Promise<void> {
  // A host end is made first, in the host namespace, so that it can be put on its bridge.
  const [a, b] = wire.ends[1].sandboxId ? wire.ends : [wire.ends[1], wire.ends[0]];
  const here = side(core, a);
  const there = side(core, b);
  const tag = ownerTag('wire', wire.id);
  const master = a.bridge ? (await core.driverCtx.host.linkGet(a.bridge)).index : undefined;
  const mtu = wire.mtu !== undefined ? { mtu: wire.mtu } : {};
  const create = (fd: number) =>
    linkAddRequest({
      kind: 'veth',
      name: a.ifname,
      ...mtu,
      ...(a.mac ? { mac: a.mac } : {}),
      peer: { name: b.ifname, netns: { fd }, ...mtu, ...(b.mac ? { mac: b.mac } : {}) },
    });
  const created = await there.ns.withFd((fd) => here.handle.linkCreate(create(fd), (index) => finishEnd(here.ns, index, a, b, tag, master), a.ifname));
  const index = created?.index ?? (await here.handle.linkGet(a.ifname)).index;
  try {
    const peer = created?.linkIndex ?? (await there.handle.linkGet(b.ifname)).index;
    await there.handle.pipeline(finishEnd(there.ns, peer, b, a, tag));
  } catch (err) {
    await here.handle.linkDelete(index).catch(() => undefined);
    throw err;
  }
}

/** Makes and records wires; all of them or, if one fails, none. */
export async function createWires(core: CnmCore, specs: readonly WireSpec[]): Promise<WireRecord[]> {
  for (const s of specs) check(core, s);
  return UndoStack.run(async (undo) => {
    const made: WireRecord[] = [];
    for (const spec of specs) {
      const id = newId();
      const ends = spec.ends.map((e, i) => (e.mac ? e : { ...e, mac: wireMac(id, i) })) as unknown as WireRecord['ends'];
      const wire: WireRecord = { ...spec, id, ends };
      await makeWire(core, wire).catch((err: unknown) => {
        const ends = wire.ends.map((e) => `${e.sandboxId ? `sandbox ${e.sandboxId.slice(0, 12)}` : 'host'}:${e.ifname}`).join(' - ');
        throw new TsnetError((err as TsnetError).code ?? 'TSNET_ERR_INTERNAL', `${wire.label ?? `wire ${ends}`}: ${(err as Error).message}`, { cause: err });
      });
      undo.push(`remove wire ${wire.id.slice(0, 12)}`, () => removeWireKernel(core, wire));
      made.push(wire);
    }
    core.deps.store.transaction(() => made.forEach((w) => core.deps.store.putWire(w)), 'volatile');
    made.forEach((w) => core.state.putWire(w));
    return made;
  });
}

/** A wire's end as it is in its namespace, when the link of its name there carries the wire's tag. */
async function taggedEnd(core: CnmCore, wire: WireRecord, end: WireEnd): Promise<{ handle: Handle; index: number } | undefined> {
  const { handle } = side(core, end);
  const link = await handle.linkFind(end.ifname);
  return link?.alias === ownerTag('wire', wire.id) ? { handle, index: link.index } : undefined;
}

/** Deletes a wire's pair from whichever end still exists (deleting one end takes both). */
async function removeWireKernel(core: CnmCore, wire: WireRecord): Promise<void> {
  for (const end of wire.ends) {
    if (end.sandboxId && !core.state.findSandbox(end.sandboxId)) continue;
    const found = await taggedEnd(core, wire, end);
    if (found) return found.handle.linkDelete(found.index);
  }
}

/**
 * Before these sandboxes' namespaces go: deletes the pairs of their wires whose other end outlives them (on the
 * host, such as a lab bridge's port, or in a sandbox that stays). The kernel would take those pairs with the
 * namespaces only once it has finished with them, after the removal has answered. One request per namespace.
 */
export async function deleteOutlivingEnds(core: CnmCore, wires: readonly WireRecord[], leaving: ReadonlySet<string>): Promise<void> {
  const byHandle = new Map<Handle, number[]>();
  for (const wire of wires) {
    const end = wire.ends.find((e) => !e.sandboxId || (!leaving.has(e.sandboxId) && core.state.findSandbox(e.sandboxId)));
    const found = end && (await taggedEnd(core, wire, end));
    if (found) byHandle.set(found.handle, [...(byHandle.get(found.handle) ?? []), found.index]);
  }
  for (const [handle, indexes] of byHandle) await handle.linkDeleteMany(indexes);
}

/** Removes an owner's wires: their pairs and their records. */
export async function deleteWires(core: CnmCore, owner: string): Promise<number> {
  const wires = core.state.wireList().filter((w) => w.owner === owner);
  await stopRelays(core, wires);
  for (const w of wires) await removeWireKernel(core, w);
  forgetWires(core, wires);
  return wires.length;
}

/**
 * Ends the delay engine's relays of these wires. Before a sandbox's namespace goes: a relay holds the namespace (it
 * entered it), so it would keep it, and its interfaces, alive and never notice.
 */
export async function stopRelays(core: CnmCore, wires: readonly WireRecord[]): Promise<void> {
  for (const w of wires)
    for (const [i, e] of w.ends.entries()) if (e.relayPid) await core.deps.delayEngine?.stop(e.relayPid, hiddenPair(w.id, i as 0 | 1, e.relayBank ?? 0)[1]);
}

/** Drops records whose pairs are gone already (with a sandbox's namespace); the caller may be inside a transaction. */
export function forgetWires(core: CnmCore, wires: readonly WireRecord[]): void {
  core.deps.store.transaction(() => wires.forEach((w) => core.deps.store.delete('wires', w.id)), 'volatile');
  wires.forEach((w) => core.state.dropWire(w.id));
}

/** The wires with an end in one of these sandboxes. */
export const wiresOf = (core: CnmCore, sandboxIds: ReadonlySet<string>): WireRecord[] =>
  core.state.wireList().filter((w) => w.ends.some((e) => e.sandboxId && sandboxIds.has(e.sandboxId)));
