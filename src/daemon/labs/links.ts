/**
 * A lab's links impaired: what the companion file declares, applied once the links are up; `lab link set|down|up`
 * live; and `lab link show`: per end, what is set, by which engine, and the kernel's counters.
 */
import type { LabLinkView } from '../../api/labs.js';
import type { ImpairmentInput } from '../../lib/impairment.js';
import type { Controller } from '../../cnm/controller.js';
import type { WireEnd, WireRecord } from '../../cnm/types.js';
import { needsEngine } from '../../cnm/wires/delay.js';
import { TsnetError } from '../../errors.js';
import { describeImpairment, parseImpairment, type Impairment } from '../../lib/impairment.js';
import type { LabLink, Topology } from '../../labs/topology.js';
import { labOwner, linkLabel } from './nodes.js';

/** The engines an end's impairment uses here: netem where the kernel has it, else tsnet's delay engine. */
function engines(end: WireEnd | undefined): string[] {
  const i = end?.impairment;
  if (!i) return [];
  return [
    ...(needsEngine(i) ? [end.netem ? 'netem' : 'delay engine'] : []),
    ...(i.rate ? ['tbf'] : []),
    ...(i.loss ? ['cls_bpf (peer ingress)'] : []),
    ...(i.mtu || i.down ? ['link'] : []),
  ];
}

/** Applies the companion file's impairments to the lab's new wires (in the order of its links). */
export async function applyDeclaredImpairments(t: Topology, wires: readonly WireRecord[], controller: Controller): Promise<number> {
  let applied = 0;
  for (const [i, l] of t.links.entries()) {
    for (const [side, e] of [l.a, l.b].entries()) {
      const input = t.nodes.find((n) => n.name === e.node)?.impair[e.iface];
      if (!input) continue;
      await controller.impairWireEnd(wires[i]!.id, side as 0 | 1, parseImpairment(input, `${e.node}:${e.iface}`));
      applied++;
    }
  }
  return applied;
}

/** The link an end NODE:IFACE is on, its wire, and which end of it that is. */
function findEnd(t: Topology, controller: Controller, endpoint: string): { link: LabLink; wire: WireRecord; side: 0 | 1 } {
  const [node, iface] = endpoint.split(':');
  const link = t.links.find((l) => (l.a.node === node && l.a.iface === iface) || (l.b.node === node && l.b.iface === iface));
  if (!link) throw new TsnetError('TSNET_ERR_NOT_FOUND', `lab "${t.name}" has no link on ${endpoint} (NODE:IFACE)`);
  const wire = controller.wires(labOwner(t.name)).find((w) => w.label === linkLabel(link));
  if (!wire) throw new TsnetError('TSNET_ERR_NOT_FOUND', `${linkLabel(link)} of lab "${t.name}" is not made`);
  return { link, wire, side: link.a.node === node && link.a.iface === iface ? 0 : 1 };
}

/** Replaces the impairment of one end (and with peerToo, the other's); change applies what is asked over the current. */
export async function setLinkImpairment(
  t: Topology,
  controller: Controller,
  endpoint: string,
  peerToo: boolean,
  change: (current: Impairment) => ImpairmentInput | Impairment,
  parse = true,
  due?: bigint,
): Promise<void> {
  const { link, wire, side } = findEnd(t, controller, endpoint);
  const sides: (0 | 1)[] = peerToo ? [side, (1 - side) as 0 | 1] : [side];
  for (const s of sides) {
    const current = controller.wires(labOwner(t.name)).find((w) => w.id === wire.id)!.ends[s].impairment ?? {};
    const wanted = change(current);
    const end = s === 0 ? link.a : link.b;
    await controller.impairWireEnd(wire.id, s, parse ? parseImpairment(wanted as ImpairmentInput, `${end.node}:${end.iface}`) : (wanted as Impairment), due);
  }
}

/** Every link of the lab, each end with what is set and the kernel's counters. */
export async function linkViews(t: Topology, controller: Controller): Promise<LabLinkView[]> {
  const wires = controller.wires(labOwner(t.name));
  return Promise.all(
    t.links.map(async (l) => {
      const wire = wires.find((w) => w.label === linkLabel(l));
      const ends = await Promise.all(
        [l.a, l.b].map(async (e, side) => {
          const impairment = wire?.ends[side]?.impairment;
          const counters = wire ? await controller.wireEndCounters(wire.id, side as 0 | 1) : undefined;
          return {
            endpoint: `${e.node}:${e.iface}`,
            impairment: impairment ? describeImpairment(impairment) : 'none',
            engines: engines(wire?.ends[side]),
            up: !impairment?.down,
            txPackets: counters?.txPackets ?? 0,
            rxPackets: counters?.rxPackets ?? 0,
            rateDrops: counters?.rateDrops ?? 0,
            lossDrops: counters?.lossDrops ?? 0,
            ...(wire?.ends[side]?.relayPid ? { relayPid: wire.ends[side]!.relayPid } : {}),
          };
        }),
      );
      return { link: `${l.a.node}:${l.a.iface} - ${l.b.node}:${l.b.iface}`, ends };
    }),
  );
}
