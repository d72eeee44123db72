/**
 * The measurements of lab experiments, run inside the nodes' network namespaces with the host's tools: ping
 * (iputils: every reply, with its time) and iperf3 (a sample a second). Samples are timed in ms from `startMs`
 * (the wall clock's, which ping -D reports in), so that they line up with the lab's scheduled events.
 */
import { execFile } from 'node:child_process';
import type { ExperimentSpec } from '../../api/labs.js';
import { parseDuration } from '../../lib/impairment.js';

/** Runs argv inside the namespace at nsPath; resolves with stdout whatever the exit status (ping exits 1 on loss). */
export function inNamespace(nsPath: string, argv: readonly string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('nsenter', [`--net=${nsPath}`, '--', ...argv], { timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err && !stdout) reject(new Error(`${argv[0]}: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

export type Samples = Record<string, { unit: string; samples: { t: number; v: number }[] }>;

/** What a run of ping saw: each answered probe's sequence number, wall-clock time (ms) and RTT. */
export interface PingRun {
  readonly sent: number;
  readonly intervalMs: number;
  readonly replies: readonly { at: number; seq: number; rtt: number }[];
}

/** count probes from the namespace at nsPath to address, one every interval (ms). */
export async function pingRun(nsPath: string, address: string, count: number, intervalMs: number): Promise<PingRun> {
  const out = await inNamespace(
    nsPath,
    ['ping', '-D', '-n', '-c', String(count), '-i', String(Math.max(intervalMs / 1000, 0.0002)), '-W', '1', address],
    count * intervalMs + 10_000,
  );
  const replies = [...out.matchAll(/^\[(\d+\.\d+)\].*icmp_seq=(\d+).*time=([\d.]+) ms/gmu)].map((m) => ({
    at: Number(m[1]) * 1000,
    seq: Number(m[2]),
    rtt: Number(m[3]),
  }));
  return { sent: count, intervalMs, replies };
}

/**
 * When each probe left, in wall-clock ms: an answered one's answer less its RTT; a lost one's between its answered
 * neighbours (ping's interval stretches on a busy machine, so counting intervals drifts).
 */
function probeTimes(run: PingRun, firstProbeMs: number): number[] {
  const sent: (number | undefined)[] = new Array<number | undefined>(run.sent + 2);
  for (const r of run.replies) sent[r.seq] = r.at - r.rtt;
  // The nearest answered probe after each one, found in one pass from the end (losses come in long runs on a link down).
  const after: (number | undefined)[] = new Array<number | undefined>(run.sent + 2);
  for (let seq = run.sent; seq >= 1; seq--) after[seq] = sent[seq + 1] !== undefined ? seq + 1 : after[seq + 1];
  let before: number | undefined;
  return Array.from({ length: run.sent }, (_, i) => {
    const seq = i + 1;
    const at = sent[seq];
    if (at !== undefined) {
      before = seq;
      return at;
    }
    const next = after[seq];
    if (before !== undefined && next !== undefined) return sent[before]! + ((seq - before) * (sent[next]! - sent[before]!)) / (next - before);
    if (before !== undefined) return sent[before]! + (seq - before) * run.intervalMs;
    if (next !== undefined) return sent[next]! - (next - seq) * run.intervalMs;
    return firstProbeMs + i * run.intervalMs;
  });
}

/** A ping run's samples: rtt_ms, one per answer, and loss_pct, one per probe (100 lost, 0 answered: the mean is the loss). */
export function pingSamples(run: PingRun, startMs: number, firstProbeMs: number): Samples {
  const received = new Set(run.replies.map((r) => r.seq));
  const times = probeTimes(run, firstProbeMs);
  return {
    rtt_ms: { unit: 'ms', samples: run.replies.map((r) => ({ t: Math.round(r.at - startMs), v: r.rtt })) },
    loss_pct: { unit: '%', samples: times.map((at, i) => ({ t: Math.round(at - startMs), v: received.has(i + 1) ? 0 : 100 })) },
  };
}

export async function ping(spec: NonNullable<ExperimentSpec['ping']>, netns: (node: string) => string, startMs: number): Promise<Samples> {
  const intervalMs = spec.interval === undefined ? 10 : parseDuration(spec.interval, '', '') / 1e6;
  const launched = Date.now();
  return pingSamples(await pingRun(netns(spec.from), spec.to, spec.count ?? 100, intervalMs), startMs, launched);
}

export async function iperf3(spec: NonNullable<ExperimentSpec['iperf3']>, netns: (node: string) => string, startMs: number): Promise<Samples> {
  const seconds = spec.seconds ?? 5;
  const launched = Date.now() - startMs;
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
    '--get-server-output',
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
  type Intervals = { sum: { start: number; bits_per_second: number } }[];
  const r = JSON.parse(out) as { intervals: Intervals; server_output_json?: { intervals?: Intervals } };
  // The receiver's seconds (the server's, which --get-server-output brings back): the sender's first ones count
  // what the socket buffers took in, not what arrived.
  const intervals = r.server_output_json?.intervals?.length ? r.server_output_json.intervals : r.intervals;
  return {
    throughput_mbit: { unit: 'Mbit/s', samples: intervals.map((x) => ({ t: Math.round(launched + x.sum.start * 1000), v: x.sum.bits_per_second / 1e6 })) },
  };
}
