/**
 * A lab's experiments (the companion file's `experiments`), one after another, measured with real packets from
 * inside the nodes' network namespaces (probes.ts, matrix.ts). Each metric's samples are kept, timed from the run's
 * start, and summarised, and the experiment's expectations checked.
 */
import { release as osRelease, type as osType } from 'node:os';
import type { ExperimentReport, ExperimentSpec, LabLinkView, LabRunReport, LabScheduleView } from '../../api/labs.js';
import type { Topology } from '../../labs/topology.js';
import { assertAll, summarise, type Expectation } from '../../lib/experiment-stats.js';
import { pingMatrix } from './matrix.js';
import { iperf3, ping, type Samples } from './probes.js';

/** Runs one experiment; a failure to run is the report's error (its assertions then fail). */
export async function runExperiment(
  spec: ExperimentSpec,
  t: Topology,
  netns: (node: string) => string,
  run: { startedMs: number; wallStart: number },
): Promise<ExperimentReport> {
  const kind = spec.ping ? 'ping' : spec.iperf3 ? 'iperf3' : 'matrix';
  const startedMs = run.startedMs;
  try {
    let matrix: ExperimentReport['matrix'];
    let samples: Samples;
    if (spec.ping) samples = await ping(spec.ping, netns, run.wallStart);
    else if (spec.iperf3) samples = await iperf3(spec.iperf3, netns, run.wallStart);
    else ({ samples, matrix } = await pingMatrix(spec.matrix!, t, netns, run.wallStart));
    const metrics = Object.fromEntries(Object.entries(samples).map(([k, m]) => [k, { ...m, summary: summarise(m.samples.map((s) => s.v)) }]));
    const assertions = assertAll((spec.expect ?? {}) as Expectation, Object.fromEntries(Object.entries(metrics).map(([k, m]) => [k, m.summary])));
    return { name: spec.name, kind, startedMs, metrics, assertions, ...(matrix ? { matrix } : {}) };
  } catch (err) {
    return { name: spec.name, kind, startedMs, metrics: {}, assertions: [], error: (err as Error).message };
  }
}

export interface ExperimentDeps {
  /** A node's network namespace path. */
  netns(node: string): string;
  links(): Promise<LabLinkView[]>;
  schedule(): LabScheduleView | undefined;
}

/** The lab's experiments one after another, and the report: exit 0 when every assertion holds, 1 when one fails, 2 when an experiment could not run. */
export async function runExperiments(t: Topology, deps: ExperimentDeps, progress: (text: string) => void): Promise<LabRunReport> {
  const wallStart = Date.now();
  const startedAt = new Date(wallStart).toISOString();
  const start = process.hrtime.bigint();
  const experiments: ExperimentReport[] = [];
  for (const [i, x] of t.experiments.entries()) {
    progress(`experiment ${i + 1}/${t.experiments.length}: ${x.name}`);
    experiments.push(await runExperiment(x, t, deps.netns, { startedMs: Number(process.hrtime.bigint() - start) / 1e6, wallStart }));
  }
  const errored = experiments.some((x) => x.error);
  const failed = experiments.some((x) => x.assertions.some((a) => !a.pass));
  const schedule = deps.schedule();
  return {
    lab: t.name,
    startedAt,
    finishedAt: new Date().toISOString(),
    kernel: `${osType()} ${osRelease()}`,
    links: await deps.links(),
    ...(schedule ? { schedule } : {}),
    experiments,
    status: errored ? 'error' : failed ? 'failed' : 'passed',
    exitCode: errored ? 2 : failed ? 1 : 0,
  };
}
