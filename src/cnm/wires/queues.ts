/**
 * The qdiscs at the root of a wire's end: a TBF for its rate, and, where the kernel has netem, a netem for its
 * delay, jitter, duplicate, reorder, corruption and Gilbert-Elliott loss, with the TBF below it (so the rate applies
 * after the delay, as it does after tsnet's own relay). Whether the kernel has netem is found once, by trying it on
 * a hidden veth pair of tsnet's own, never assumed.
 */
import { randomBytes } from 'node:crypto';
import { defaultBurst, queueLimit, type Impairment } from '../../lib/impairment.js';
import { NetlinkError } from '../../netlink/errors.js';
import type { Handle } from '../../netlink/handle.js';
import { NETEM_HANDLE, netemReplaceRequest, type NetemSpec } from '../../netlink/netem.js';
import type { NetlinkRequest } from '../../netlink/socket.js';
import { childQdiscDeleteRequest, rootQdiscDeleteRequest, tbfReplaceRequest, type TbfSpec } from '../../netlink/tc.js';
import { Errno } from '../../native/errno.js';
import type { CnmCore } from '../core.js';
import { RELAY_LIMIT } from './delay.js';

/** The class of tsnet's netem that its TBF hangs below. */
const NETEM_CLASS = NETEM_HANDLE + 1;

/** The keys of an impairment that netem (or, without it, the delay engine) applies. */
export const ENGINE_KEYS: readonly (keyof Impairment)[] = ['delay', 'jitter', 'distribution', 'duplicate', 'reorder', 'lossModel', 'corrupt'];

/** Whether two impairments differ in these keys. */
export const differ = (a: Impairment, b: Impairment, keys: readonly (keyof Impairment)[]): boolean =>
  keys.some((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));

/** Sends a removal; one of something that is not there counts as done. */
export async function removeIfThere(handle: Handle, request: NetlinkRequest<void>): Promise<void> {
  try {
    await handle.request(request);
  } catch (err) {
    if (!(err instanceof NetlinkError && (err.errno === Errno.ENOENT || err.errno === Errno.EINVAL))) throw err;
  }
}

/**
 * Whether this kernel has netem: tried once on a veth pair made for it in the namespace of `handle` (a sandbox's
 * or the host's, where tsnet is impairing a link), tagged as that link's (as its relay's pairs are), and removed
 * whatever happens.
 */
export async function kernelHasNetem(core: CnmCore, handle: Handle, tag: string): Promise<boolean> {
  if (core.kernelHas.netem !== undefined) return core.kernelHas.netem;
  const name = `tsnp${randomBytes(4).toString('hex')}`;
  await handle.linkAdd({ name, kind: 'veth', peer: { name: `${name}b` }, alias: tag });
  try {
    const link = await handle.linkGet(name);
    core.kernelHas.netem = await handle.request(netemReplaceRequest(link.index, { delay: 1e6, limit: RELAY_LIMIT })).then(
      () => true,
      (err: unknown) => {
        // The kernel answers a qdisc kind it does not know (nor can load) with ENOENT.
        if (err instanceof NetlinkError && err.errno === Errno.ENOENT) return false;
        throw err;
      },
    );
  } finally {
    await handle.linkDelete(name);
  }
  return core.kernelHas.netem;
}

const netemSpec = (i: Impairment): NetemSpec => ({
  ...(i.delay ? { delay: i.delay } : {}),
  ...(i.jitter ? { jitter: i.jitter, distribution: i.distribution ?? 'normal' } : {}),
  ...(i.duplicate ? { duplicate: i.duplicate } : {}),
  ...(i.reorder ? { reorder: i.reorder } : {}),
  ...(i.corrupt ? { corrupt: i.corrupt } : {}),
  ...(i.lossModel ? { lossModel: i.lossModel } : {}),
  limit: RELAY_LIMIT,
});

/** Whether netem draws this impairment's jitter from a (normal) table. */
const normalTable = (i: Impairment): boolean => !!i.jitter && (i.distribution ?? 'normal') === 'normal';

/** The rate's TBF, if the impairment has a rate. */
function tbfSpec(i: Impairment): TbfSpec | undefined {
  if (!i.rate) return undefined;
  const burst = i.burst ?? defaultBurst(i.rate);
  return { rate: i.rate, burst, limit: queueLimit(i.rate, burst) };
}

/** What an end's root holds: its impairment, and whether netem applies it. */
export interface EndQueues {
  readonly impairment: Impairment;
  readonly netem: boolean;
}

/** Changes the qdiscs at the root of link `index` from what `from` needed to what `to` needs, sending only what differs. */
export async function applyQueues(h: Handle, index: number, from: EndQueues, to: EndQueues): Promise<void> {
  const rate = tbfSpec(to.impairment);
  const rateChanged = differ(from.impairment, to.impairment, ['rate', 'burst']);
  if (to.netem) {
    let netemThere = from.netem;
    // A netem keeps its distribution table through changes: one that must lose it is made anew.
    if (netemThere && normalTable(from.impairment) && !normalTable(to.impairment)) {
      await removeIfThere(h, rootQdiscDeleteRequest(index));
      netemThere = false;
    }
    // A replace of tsnet's netem changes it in place and keeps its TBF; over a root TBF, it takes the root.
    if (!netemThere || differ(from.impairment, to.impairment, ENGINE_KEYS)) await h.request(netemReplaceRequest(index, netemSpec(to.impairment)));
    if (rate && (!netemThere || rateChanged)) await h.request(tbfReplaceRequest(index, rate, NETEM_CLASS));
    else if (!rate && netemThere && from.impairment.rate) await removeIfThere(h, childQdiscDeleteRequest(index, NETEM_CLASS));
    return;
  }
  if (from.netem) await removeIfThere(h, rootQdiscDeleteRequest(index));
  if (rate && (from.netem || rateChanged)) await h.request(tbfReplaceRequest(index, rate));
  else if (!rate && !from.netem && from.impairment.rate) await removeIfThere(h, rootQdiscDeleteRequest(index));
}
