/**
 * tsnet's delay engine on a wire's end, for kernels without netem. In the end's namespace a hidden veth pair
 * (tsq<wire><end>a/b) is made; a TC program on the end's egress redirects every frame the node sends to its "a"
 * side; a relay process (DelayEngine: tsnet-launcher delay-relay) reads them on "b", holds each for its delay and
 * jitter, and sends it back out of the end with a mark that the program lets through. "b"'s own stack never sees
 * them (a drop-all program on its ingress; the relay's socket reads before it). A rate set on the end applies after
 * the delay: the relay's frames pass the end's root qdisc.
 */
import { TsnetError } from '../../errors.js';
import type { Impairment, RelaySpec } from '../../lib/impairment.js';
import { dropAllProgram, redirectUnlessMarkedProgram, withClassifier } from '../../netlink/bpf-programs.js';
import type { Handle } from '../../netlink/handle.js';
import { linkSetRequest } from '../../netlink/link.js';
import { bpfFilterReplaceRequest, clsactReplaceRequest, filterDeleteRequest } from '../../netlink/tc.js';
import { ownerTag } from '../../drivers/records.js';
import type { WireRecord } from '../types.js';

/** Starts and stops delay relays (the daemon's: processes of tsnet's launcher). */
export interface DelayEngine {
  /** A relay in the namespace at nsPath; resolves with its pid once it reads. */
  start(spec: RelaySpec): Promise<number>;
  /** Ends the relay, if that pid is still the relay reading inIf; resolves once it is gone. */
  stop(pid: number, inIf: string): Promise<void>;
  /** Tells the relay nothing more will come: it sends what it holds, then ends (a change loses nothing). */
  drain(pid: number, inIf: string): void;
}

/** Whether an impairment needs the delay engine (rate, loss, mtu and down are the kernel's own). */
export const needsEngine = (i: Impairment): boolean => !!(i.delay || i.duplicate || i.lossModel || i.corrupt);

/** The mark the relay's released frames carry ("tsnd"): the redirect lets them through. */
export const DELAY_MARK = 0x74736e64;
export const RELAY_LIMIT = 1000;

/** The hidden pair of an end's relay; two banks, so that a change starts the new relay before the link switches. */
export const hiddenPair = (wireId: string, end: 0 | 1, bank: 0 | 1 = 0): [string, string] => [
  `tsq${wireId.slice(0, 8)}${end}${bank}a`,
  `tsq${wireId.slice(0, 8)}${end}${bank}b`,
];

/** Waits until the monotonic time due (a scheduled change: what could be made ahead is made, then it lands). */
export async function waitUntil(due: bigint | undefined): Promise<void> {
  if (due === undefined) return;
  const ms = Number(due - process.hrtime.bigint()) / 1e6;
  if (ms > 3) await new Promise((r) => setTimeout(r, ms - 3));
  while (process.hrtime.bigint() < due); // the last few ms
}

/**
 * Sets up (or changes) the delay of one end; resolves with the relay's pid and bank. The new relay starts on the
 * bank the old one does not use, then (at due, for a schedule) the end's redirect switches to it in one filter
 * change, and the old relay sends what it holds before it ends.
 */
export async function applyDelay(
  engine: DelayEngine | undefined,
  wire: WireRecord,
  end: 0 | 1,
  at: { handle: Handle; nsPath: string; index: number; due?: bigint },
  impairment: Impairment,
): Promise<{ pid: number; bank: 0 | 1 }> {
  if (!engine) throw new TsnetError('TSNET_ERR_INVALID_ARGUMENT', 'delay cannot be applied: this controller has no delay engine');
  const old = wire.ends[end].relayPid;
  const oldBank = wire.ends[end].relayBank ?? 0;
  const bank: 0 | 1 = old ? ((1 - oldBank) as 0 | 1) : 0;
  const [a, b] = hiddenPair(wire.id, end, bank);
  const h = at.handle;
  if (!(await h.linkFind(a))) await h.linkAdd({ name: a, kind: 'veth', peer: { name: b } });
  const [la, lb] = await Promise.all([h.linkGet(a), h.linkGet(b)]);
  const tag = ownerTag('wire', wire.id);
  await h.pipeline([linkSetRequest(la.index, { alias: tag, up: true }), linkSetRequest(lb.index, { alias: tag, up: true }), clsactReplaceRequest(lb.index)]);
  await withClassifier(dropAllProgram(), 'the delay engine drop', (fd) => h.request(bpfFilterReplaceRequest(lb.index, 'ingress', fd, 'tsnet-delay-in')));
  const pid = await engine.start(relaySpec(at.nsPath, b, wire.ends[end].ifname, impairment));
  try {
    await withClassifier(redirectUnlessMarkedProgram(DELAY_MARK, la.index), 'the delay engine redirect', async (fd) => {
      await waitUntil(at.due);
      await h.pipeline([clsactReplaceRequest(at.index), bpfFilterReplaceRequest(at.index, 'egress', fd, 'tsnet-delay')]);
    });
  } catch (err) {
    await engine.stop(pid, b);
    throw err;
  }
  if (old) engine.drain(old, hiddenPair(wire.id, end, oldBank)[1]);
  return { pid, bank };
}

function relaySpec(nsPath: string, inIf: string, outIf: string, impairment: Impairment): RelaySpec {
  const ge = impairment.lossModel;
  return {
    nsPath,
    inIf,
    outIf,
    mark: DELAY_MARK,
    delayNs: impairment.delay ?? 0,
    jitterNs: impairment.jitter ?? 0,
    distribution: impairment.jitter ? (impairment.distribution ?? 'normal') : 'none',
    limit: RELAY_LIMIT,
    duplicatePpm: Math.round((impairment.duplicate ?? 0) * 1e4),
    reorderPpm: Math.round((impairment.reorder ?? 0) * 1e4),
    corruptPpm: Math.round((impairment.corrupt ?? 0) * 1e4),
    ...(ge ? { gilbertElliottPpm: [ge.p, ge.r, ge.badLoss, ge.goodLoss].map((v) => Math.round(v * 1e4)) as [number, number, number, number] } : {}),
  };
}

/** Removes one end's delay: the redirect first (so nothing more goes to the relay), then the relay and both banks. */
export async function clearDelay(engine: DelayEngine | undefined, wire: WireRecord, end: 0 | 1, at: { handle: Handle; index: number }): Promise<void> {
  const pid = wire.ends[end].relayPid;
  const banks = await Promise.all(([0, 1] as const).map((bank) => at.handle.linkFind(hiddenPair(wire.id, end, bank)[0])));
  if (!pid && banks.every((l) => !l)) return;
  await at.handle.request(filterDeleteRequest(at.index, 'egress', 1)).catch(() => undefined); // the redirect (a link down's filters stay)
  if (pid) await engine?.stop(pid, hiddenPair(wire.id, end, wire.ends[end].relayBank ?? 0)[1]);
  for (const l of banks) if (l?.alias === ownerTag('wire', wire.id)) await at.handle.linkDelete(l.index);
}
