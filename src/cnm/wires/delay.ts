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
}

/** Whether an impairment needs the delay engine (rate, loss, mtu and down are the kernel's own). */
export const needsEngine = (i: Impairment): boolean => !!(i.delay || i.duplicate || i.lossModel);

/** The mark the relay's released frames carry ("tsnd"): the redirect lets them through. */
export const DELAY_MARK = 0x74736e64;
export const RELAY_LIMIT = 1000;

export const hiddenPair = (wireId: string, end: 0 | 1): [string, string] => [`tsq${wireId.slice(0, 8)}${end}a`, `tsq${wireId.slice(0, 8)}${end}b`];

/** Sets up (or changes) the delay of one end; resolves with the new relay's pid. A relay already there is replaced. */
export async function applyDelay(
  engine: DelayEngine | undefined,
  wire: WireRecord,
  end: 0 | 1,
  at: { handle: Handle; nsPath: string; index: number },
  impairment: Impairment,
): Promise<number> {
  if (!engine) throw new TsnetError('TSNET_ERR_INVALID_ARGUMENT', 'delay cannot be applied: this controller has no delay engine');
  const [a, b] = hiddenPair(wire.id, end);
  const old = wire.ends[end].relayPid;
  if (old) await engine.stop(old, b);
  const h = at.handle;
  if (!(await h.linkFind(a))) await h.linkAdd({ name: a, kind: 'veth', peer: { name: b } });
  const [la, lb] = await Promise.all([h.linkGet(a), h.linkGet(b)]);
  const tag = ownerTag('wire', wire.id);
  await h.pipeline([linkSetRequest(la.index, { alias: tag, up: true }), linkSetRequest(lb.index, { alias: tag, up: true }), clsactReplaceRequest(lb.index)]);
  await withClassifier(dropAllProgram(), 'the delay engine drop', (fd) => h.request(bpfFilterReplaceRequest(lb.index, 'ingress', fd, 'tsnet-delay-in')));
  const pid = await engine.start({
    nsPath: at.nsPath,
    inIf: b,
    outIf: wire.ends[end].ifname,
    mark: DELAY_MARK,
    delayNs: impairment.delay ?? 0,
    jitterNs: impairment.jitter ?? 0,
    distribution: impairment.jitter ? (impairment.distribution ?? 'normal') : 'none',
    limit: RELAY_LIMIT,
    duplicatePpm: Math.round((impairment.duplicate ?? 0) * 1e4),
    reorderPpm: Math.round((impairment.reorder ?? 0) * 1e4),
    ...(impairment.lossModel
      ? {
          gilbertElliottPpm: [impairment.lossModel.p, impairment.lossModel.r, impairment.lossModel.badLoss, impairment.lossModel.goodLoss].map((v) =>
            Math.round(v * 1e4),
          ) as [number, number, number, number],
        }
      : {}),
  });
  try {
    await h.request(clsactReplaceRequest(at.index));
    await withClassifier(redirectUnlessMarkedProgram(DELAY_MARK, la.index), 'the delay engine redirect', (fd) =>
      h.request(bpfFilterReplaceRequest(at.index, 'egress', fd, 'tsnet-delay')),
    );
  } catch (err) {
    await engine.stop(pid, b);
    throw err;
  }
  return pid;
}

/** Removes one end's delay: the redirect first (so nothing more goes to the relay), then the relay and the pair. */
export async function clearDelay(engine: DelayEngine | undefined, wire: WireRecord, end: 0 | 1, at: { handle: Handle; index: number }): Promise<void> {
  const [a, b] = hiddenPair(wire.id, end);
  const hidden = await at.handle.linkFind(a);
  if (!hidden && !wire.ends[end].relayPid) return;
  await at.handle.request(filterDeleteRequest(at.index, 'egress', 1)).catch(() => undefined); // the redirect (a link down's filters stay)
  if (wire.ends[end].relayPid) await engine?.stop(wire.ends[end].relayPid!, b);
  if (hidden?.alias === ownerTag('wire', wire.id)) await at.handle.linkDelete(hidden.index);
}
