/**
 * Impairments of a wire's ends, each about the packets that leave it. Delay, jitter, duplicate, reorder, corruption
 * and bursty loss: the kernel's netem at the end's root where the kernel has it, else tsnet's delay engine
 * (delay.ts). Rate: a TBF qdisc at the end's root, or below its netem (queues.ts). Loss: a cls_bpf program on the
 * other end's ingress dropping that share at random, so that the sender is not told (as with netem; a drop on the
 * way out would fail the sender's send). Down: drop-all programs on both ends. MTU: the end's link. Each setting
 * replaces the one before it; it is recorded on the wire, so that `link show` and a restarted daemon know it.
 */
import { TsnetError } from '../../errors.js';
import type { Impairment } from '../../lib/impairment.js';
import { dropAllProgram, loadClassifier, randomDropProgram, withClassifier } from '../../netlink/bpf-programs.js';
import type { Handle } from '../../netlink/handle.js';
import { linkSetRequest } from '../../netlink/link.js';
import { bpfFilterReplaceRequest, filterDeleteRequest, clsactReplaceRequest, qdiscListRequest } from '../../netlink/tc.js';
import { ownerTag } from '../../drivers/records.js';
import type { CnmCore } from '../core.js';
import { applyDelay, clearDelay, needsEngine, waitUntil } from './delay.js';
import { applyQueues, differ, ENGINE_KEYS, kernelHasNetem, removeIfThere } from './queues.js';
import type { WireEnd, WireRecord } from '../types.js';

/** The counters of one end: packets it sent, and the packets its rate and its loss dropped. */
export interface WireEndCounters {
  readonly txPackets: number;
  readonly rxPackets: number;
  readonly rateDrops: number;
  readonly lossDrops: number;
}

const LOSS_FILTER = 'tsnet-loss';
const LOSS_PRIO = 1;
/** A link down: a drop-all program on both ends' ingress, after the loss program (which leaves others to it). */
const DOWN_FILTER = 'tsnet-down';
const DOWN_PRIO = 2;

/**
 * A link down (or up again): nothing either end sends arrives. Done with drop-all programs on both ends' ingress
 * rather than the links' admin state, which the kernel turns on again only when its link watch gets to it (up to
 * a second later): a schedule's up must land on time.
 */
async function setDown(core: CnmCore, a: { here: Handle; index: number }, b: { handle: Handle; index: number }, down: boolean): Promise<void> {
  const ends = [
    [a.here, a.index],
    [b.handle, b.index],
  ] as const;
  const fd = down ? downProgram(core) : -1;
  // Both ends at once (two namespaces, two sockets), each in one send: clsact and the filter.
  await Promise.all(
    ends.map(([h, index]) =>
      down
        ? h.pipeline([clsactReplaceRequest(index), bpfFilterReplaceRequest(index, 'ingress', fd, DOWN_FILTER, DOWN_PRIO)])
        : removeIfThere(h, filterDeleteRequest(index, 'ingress', DOWN_PRIO)),
    ),
  );
}

/** The link-down program, loaded once and kept: loading it again each time would make a scheduled down late. */
export function downProgram(core: CnmCore): number {
  if (!core.programs.has(DOWN_FILTER)) core.programs.set(DOWN_FILTER, loadClassifier(dropAllProgram(), 'the link-down program'));
  return core.programs.get(DOWN_FILTER)!;
}

function handleOf(core: CnmCore, end: WireEnd): Handle {
  return end.sandboxId ? core.sandbox(end.sandboxId).handle : core.driverCtx.host;
}

/** The wire and its two ends' link indexes, checked to be the wire's own (by their tag). */
async function locate(core: CnmCore, wireId: string, endIndex: 0 | 1): Promise<{ wire: WireRecord; here: Handle; there: Handle; index: number; peer: number }> {
  const wire = core.state.findWire(wireId);
  if (!wire) throw new TsnetError('TSNET_ERR_NOT_FOUND', `wire ${wireId.slice(0, 12)} not found`);
  const [end, other] = [wire.ends[endIndex], wire.ends[1 - endIndex]!];
  const here = handleOf(core, end);
  const there = handleOf(core, other);
  const tag = ownerTag('wire', wire.id);
  const [a, b] = await Promise.all([here.linkFind(end.ifname), there.linkFind(other.ifname)]);
  if (a?.alias !== tag || b?.alias !== tag) throw new TsnetError('TSNET_ERR_CONFLICT', `${wire.label ?? 'wire'}: its interfaces are gone or not tsnet's`);
  return { wire, here, there, index: a.index, peer: b.index };
}

/**
 * Sets what leaves end endIndex of the wire (an empty impairment clears it); returns the wire as recorded now. Only
 * what differs from the end's recorded impairment is sent to the kernel, so that a scheduled down or up is a few
 * requests and lands on time.
 */
export async function impairWireEnd(core: CnmCore, wireId: string, endIndex: 0 | 1, impairment: Impairment, due?: bigint): Promise<WireRecord> {
  const { wire, here, there, index, peer } = await locate(core, wireId, endIndex);
  const end = wire.ends[endIndex];
  const old = end.impairment ?? {};
  const netem = needsEngine(impairment) && (await kernelHasNetem(core, here, ownerTag('wire', wire.id)));
  let relay = end.relayPid ? { pid: end.relayPid, bank: end.relayBank ?? 0 } : undefined;
  // Without netem, a new relay is started ahead and switched to at due; the rest is a few requests, sent at due.
  if (needsEngine(impairment) && !netem && (differ(old, impairment, ENGINE_KEYS) || !relay)) {
    const ns = end.sandboxId ? core.sandbox(end.sandboxId).ns : core.deps.hostNs;
    relay = await applyDelay(
      core.deps.delayEngine,
      wire,
      endIndex,
      { handle: here, nsPath: ns.path ?? '/proc/self/ns/net', index, ...(due ? { due } : {}) },
      impairment,
    );
  }
  await waitUntil(due);
  if (differ(old, impairment, ['down'])) await setDown(core, { here, index }, { handle: there, index: peer }, impairment.down ?? false);
  // The relay and its hidden pairs go when netem takes over, or when nothing needs an engine any more (a netem end
  // has neither, so nothing is looked for).
  if ((netem && relay) || (!needsEngine(impairment) && !end.netem && differ(old, impairment, ENGINE_KEYS))) {
    await clearDelay(core.deps.delayEngine, wire, endIndex, { handle: here, index });
    relay = undefined;
  }
  await applyQueues(here, index, { impairment: old, netem: end.netem ?? false }, { impairment, netem });
  if (differ(old, impairment, ['loss'])) {
    if (impairment.loss) {
      await there.request(clsactReplaceRequest(peer));
      await withClassifier(randomDropProgram(impairment.loss / 100), `the loss of ${wire.label ?? 'a wire'}`, (fd) =>
        there.request(bpfFilterReplaceRequest(peer, 'ingress', fd, LOSS_FILTER, LOSS_PRIO)),
      );
    } else await removeIfThere(there, filterDeleteRequest(peer, 'ingress', LOSS_PRIO));
  }
  if (differ(old, impairment, ['mtu'])) {
    const mtu = impairment.mtu ?? wire.mtu;
    if (mtu !== undefined) await here.request(linkSetRequest(index, { mtu }));
  }
  const ends = wire.ends.map((e, i) => {
    if (i !== endIndex) return e;
    const { impairment: _old, relayPid: _oldPid, relayBank: _oldBank, netem: _oldNetem, ...rest } = e;
    return {
      ...rest,
      ...(Object.keys(impairment).length ? { impairment } : {}),
      ...(relay ? { relayPid: relay.pid, relayBank: relay.bank } : {}),
      ...(netem ? { netem } : {}),
    };
  }) as unknown as WireRecord['ends'];
  const updated: WireRecord = { ...wire, ends };
  core.deps.store.transaction(() => core.deps.store.putWire(updated), 'volatile');
  core.state.putWire(updated);
  return updated;
}

/** What end endIndex sent and what its impairments dropped, from the kernel's counters. */
export async function wireEndCounters(core: CnmCore, wireId: string, endIndex: 0 | 1): Promise<WireEndCounters> {
  const { wire, here, there, index, peer } = await locate(core, wireId, endIndex);
  const [link, qdiscs, peerQdiscs] = await Promise.all([
    here.linkGet(wire.ends[endIndex].ifname),
    here.request(qdiscListRequest(index)),
    there.request(qdiscListRequest(peer)),
  ]);
  return {
    txPackets: link.stats?.txPackets ?? 0,
    rxPackets: link.stats?.rxPackets ?? 0,
    rateDrops: qdiscs.find((q) => q.kind === 'tbf')?.drops ?? 0,
    // A link down's drops count here too, and netem's (its loss model's, and those over its limit).
    lossDrops: (peerQdiscs.find((q) => q.kind === 'clsact')?.drops ?? 0) + (qdiscs.find((q) => q.kind === 'netem')?.drops ?? 0),
  };
}
