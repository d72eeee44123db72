/**
 * A ping matrix: every node of the lab (or those named) pings every other's address, many pairs at once. A node's
 * address is the one the experiment names in `targets`, else the first address of its companion-file interfaces
 * (its loopback first, when it has one: a router's stable address). The pairs' samples are pooled for the
 * experiment's statistics, and each pair keeps its own figures, for the report's heat map.
 */
import type { ExperimentReport, ExperimentSpec } from '../../api/labs.js';
import type { Topology } from '../../labs/topology.js';
import { summarise } from '../../lib/experiment-stats.js';
import { parseDuration } from '../../lib/impairment.js';
import { mapLimit } from '../../lib/map-limit.js';
import { pingRun, pingSamples, type Samples } from './probes.js';

type Cell = NonNullable<ExperimentReport['matrix']>[number];

/** Each node of the matrix, and the address it is pinged at. */
export function matrixTargets(spec: NonNullable<ExperimentSpec['matrix']>, t: Topology): { node: string; address: string }[] {
  const linux = t.nodes.filter((n) => n.kind === 'linux');
  const names = spec.nodes ?? linux.map((n) => n.name);
  return names.flatMap((name) => {
    const node = linux.find((n) => n.name === name);
    const declared =
      spec.targets?.[name] ??
      Object.values(node?.addresses ?? {})
        .flat()[0]
        ?.split('/')[0];
    if (!declared && spec.nodes) throw new Error(`node ${name} has no address to ping: name one in the matrix's targets`);
    return declared ? [{ node: name, address: declared }] : [];
  });
}

export async function pingMatrix(
  spec: NonNullable<ExperimentSpec['matrix']>,
  t: Topology,
  netns: (node: string) => string,
  startMs: number,
): Promise<{ samples: Samples; matrix: Cell[] }> {
  const targets = matrixTargets(spec, t);
  if (targets.length < 2) throw new Error('a ping matrix needs two nodes with an address (name them in targets, or give their interfaces addresses)');
  const count = spec.count ?? 20;
  const intervalMs = spec.interval === undefined ? 10 : parseDuration(spec.interval, '', '') / 1e6;
  const pairs = targets.flatMap((from) => targets.filter((to) => to.node !== from.node).map((to) => ({ from: from.node, to })));
  const launched = Date.now();
  // Pairs at once, up to a bound: a 50-node lab has 2,450 pairs, and each is a ping process.
  const runs = await mapLimit(pairs, 32, (p) => pingRun(netns(p.from), p.to.address, count, intervalMs));
  const pooled: Samples = { rtt_ms: { unit: 'ms', samples: [] }, loss_pct: { unit: '%', samples: [] } };
  const matrix = runs.map((run, i): Cell => {
    const s = pingSamples(run, startMs, launched);
    pooled['rtt_ms']!.samples.push(...s['rtt_ms']!.samples);
    pooled['loss_pct']!.samples.push(...s['loss_pct']!.samples);
    const rtt = summarise(run.replies.map((r) => r.rtt));
    const lossPct = Math.round((1 - run.replies.length / run.sent) * 10000) / 100;
    const cell = { from: pairs[i]!.from, to: pairs[i]!.to.node, address: pairs[i]!.to.address, sent: run.sent, received: run.replies.length, lossPct };
    return run.replies.length ? { ...cell, rttMs: rtt['p50']! } : cell;
  });
  for (const m of Object.values(pooled)) m.samples.sort((a, b) => a.t - b.t);
  return { samples: pooled, matrix };
}
