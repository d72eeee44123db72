/**
 * Which impairments this kernel can apply, found by trying: in a throwaway namespace, a veth pair gets a TBF qdisc,
 * a clsact qdisc with tsnet's loss program (which the delay engine's programs need too), and a netem qdisc (present
 * on most kernels, missing on some: where it is, it applies delays; else tsnet's delay engine does). Nothing is
 * assumed from the kernel's version or its module list.
 */
import { randomBytes } from 'node:crypto';
import { randomDropProgram, withClassifier } from '../../netlink/bpf-programs.js';
import type { Handle } from '../../netlink/handle.js';
import { netemReplaceRequest } from '../../netlink/netem.js';
import { bpfFilterReplaceRequest, clsactReplaceRequest, tbfReplaceRequest } from '../../netlink/tc.js';
import type { NetNs } from '../../netns/netns.js';

export interface ImpairmentSupport {
  readonly impairment: string;
  readonly supported: boolean;
  readonly engine: string;
  readonly note: string;
}

const works = (p: Promise<unknown>): Promise<boolean> =>
  p.then(
    () => true,
    () => false,
  );

/** Tries each engine on a veth pair in a namespace made for it (and removed, whatever happens). */
export async function probeImpairmentSupport(
  space: { create(id: string): Promise<NetNs>; delete(id: string): void },
  open: (ns: NetNs) => Handle,
): Promise<ImpairmentSupport[]> {
  const id = `impair-probe-${randomBytes(6).toString('hex')}`;
  const ns = await space.create(id);
  const h = open(ns);
  try {
    await h.linkAdd({ name: 'probe0', kind: 'veth', peer: { name: 'probe1' } });
    const [a, b] = await Promise.all([h.linkGet('probe0'), h.linkGet('probe1')]);
    const tbf = await works(h.request(tbfReplaceRequest(a.index, { rate: 1e6, burst: 16384, limit: 32768 })));
    const bpf = await works(
      h
        .request(clsactReplaceRequest(b.index))
        .then(() => withClassifier(randomDropProgram(0.5), 'the loss probe', (fd) => h.request(bpfFilterReplaceRequest(b.index, 'ingress', fd, 'probe')))),
    );
    const netem = await works(h.request(netemReplaceRequest(b.index, { delay: 1e6, limit: 1000 })));
    return [
      { impairment: 'rate, burst', supported: tbf, engine: 'kernel: tbf qdisc on the end', note: tbf ? '' : 'this kernel has no tbf qdisc' },
      {
        impairment: 'loss',
        supported: bpf,
        engine: "kernel: cls_bpf program (bpf_get_prandom_u32) on the peer's clsact ingress",
        note: bpf ? '' : 'this kernel refused clsact, cls_bpf or the bpf() program',
      },
      { impairment: 'mtu, down', supported: true, engine: "kernel: the end's link", note: '' },
      netem
        ? { impairment: 'delay, jitter, duplicate, reorder, corrupt, loss-model', supported: true, engine: 'kernel: netem qdisc on the end', note: '' }
        : {
            impairment: 'delay, jitter, duplicate, reorder, corrupt, loss-model',
            supported: bpf,
            engine: "tsnet's delay engine: a cls_bpf redirect to a relay process (AF_PACKET) that holds each packet",
            note: bpf ? 'this kernel has no netem' : 'this kernel has no netem, and the engine needs clsact and cls_bpf',
          },
    ];
  } finally {
    h.close();
    space.delete(id);
  }
}
