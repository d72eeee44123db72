/**
 * A lab's experiments (the companion file's `experiments`), measured with real packets from inside the nodes'
 * network namespaces with the host's tools: ping (iputils: every reply, with its time) and iperf3 (a sample a
 * second). Each metric's samples are kept and summarised, and the experiment's expectations checked.
 */
import { execFile } from 'node:child_process';
import { release as osRelease, type as osType } from 'node:os';
import type { ExperimentReport, ExperimentSpec, LabLinkView, LabRunReport, LabScheduleView } from '../../api/labs.js';
import type { Topology } from '../../labs/topology.js';
import { assertAll, summarise, type Expectation } from '../../lib/experiment-stats.js';
import { parseDuration } from '../../lib/impairment.js';

/** Runs argv inside the namespace at nsPath; resolves with stdout whatever the exit status (ping exits 1 on loss). */
function inNamespace(nsPath: string, argv: readonly string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('nsenter', [`--net=${nsPath}`, '--', ...argv], { timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err && !stdout) reject(new Error(`${argv[0]}: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

type Samples = Record<string, { unit: string; samples: { t: number; v: number }[] }>;

async function ping(spec: NonNullable<ExperimentSpec['ping']>, netns: (node: string) => string): Promise<Samples> {
  const count = spec.count ?? 100;
  const interval = spec.interval === undefined ? 0.01 : parseDuration(spec.interval, '', '') / 1e9;
  const out = await inNamespace(
    netns(spec.from),
    ['ping', '-D', '-n', '-c', String(count), '-i', String(Math.max(interval, 0.0002)), '-W', '1', spec.to],
    (count * interval + 10) * 1000,
  );
  const replies = [...out.matchAll(/^\[(\d+\.\d+)\].*icmp_seq=(\d+).*time=([\d.]+) ms/gmu)].map((m) => ({
    at: Number(m[1]) * 1000,
    seq: Number(m[2]),
    rtt: Number(m[3]),
  }));
  const first = replies[0]?.at ?? 0;
  const received = new Set(replies.map((r) => r.seq));
  return {
    rtt_ms: { unit: 'ms', samples: replies.map((r) => ({ t: Math.round(r.at - first), v: r.rtt })) },
    // One sample a probe: 100 lost, 0 received; the mean is the loss in percent.
    loss_pct: { unit: '%', samples: Array.from({ length: count }, (_, i) => ({ t: Math.round(i * interval * 1000), v: received.has(i + 1) ? 0 : 100 })) },
  };
}

async function iperf3(spec: NonNullable<ExperimentSpec['iperf3']>, netns: (node: string) => string): Promise<Samples> {
  const seconds = spec.seconds ?? 5;
  // Settled now, looked at once the client is done: a server that fails early must not be an unhandled rejection.
  const server = inNamespace(netns(spec.to), ['iperf3', '-s', '-1', '-B', spec.address], (seconds + 20) * 1000).then(
    () => undefined,
    (err: Error) => err,
  );
  const args = [
    'iperf3',
    '-c',
    spec.address,
    '-J',
    '-t',
    String(seconds),
    ...(spec.udp ? ['-u', '-b', spec.bitrate ?? '10M'] : spec.bitrate ? ['-b', spec.bitrate] : []),
  ];
  let out = '';
  for (let i = 0; !out; i++) {
    out = await inNamespace(netns(spec.from), args, (seconds + 10) * 1000).catch(async (err: Error) => {
      const failed = await Promise.race([server, new Promise<undefined>((r) => setTimeout(() => r(undefined), 0))]);
      if (failed) throw new Error(`the iperf3 server on ${spec.to} failed: ${failed.message}`);
      if (i > 30) throw err;
      await new Promise((r) => setTimeout(r, 100)); // the server is not listening yet
      return '';
    });
    if (out && !out.includes('"intervals"')) out = '';
  }
  const failed = await server;
  if (failed) throw new Error(`the iperf3 server on ${spec.to} failed: ${failed.message}`);
  const r = JSON.parse(out) as { intervals: { sum: { start: number; bits_per_second: number } }[] };
  return { throughput_mbit: { unit: 'Mbit/s', samples: r.intervals.map((x) => ({ t: Math.round(x.sum.start * 1000), v: x.sum.bits_per_second / 1e6 })) } };
}

/** Runs one experiment; a failure to run is the report's error (its assertions then fail). */
export async function runExperiment(spec: ExperimentSpec, netns: (node: string) => string, startedMs: number): Promise<ExperimentReport> {
  const kind = spec.ping ? 'ping' : 'iperf3';
  try {
    const samples = spec.ping ? await ping(spec.ping, netns) : await iperf3(spec.iperf3!, netns);
    const metrics = Object.fromEntries(Object.entries(samples).map(([k, m]) => [k, { ...m, summary: summarise(m.samples.map((s) => s.v)) }]));
    const assertions = assertAll((spec.expect ?? {}) as Expectation, Object.fromEntries(Object.entries(metrics).map(([k, m]) => [k, m.summary])));
    return { name: spec.name, kind, startedMs, metrics, assertions };
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
  const startedAt = new Date().toISOString();
  const start = process.hrtime.bigint();
  const experiments: ExperimentReport[] = [];
  for (const [i, x] of t.experiments.entries()) {
    progress(`experiment ${i + 1}/${t.experiments.length}: ${x.name}`);
    experiments.push(await runExperiment(x, deps.netns, Number(process.hrtime.bigint() - start) / 1e6));
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
