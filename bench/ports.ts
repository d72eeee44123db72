/**
 * `npm run bench -- ports [--json] [--ops N] [--queries N]`: published ports and DNS, tsnet against Docker's bridge
 * driver (a real dockerd in the same throwaway namespace, in its default configuration), in one run:
 * - publishing: what `-p` adds to `run -d` and to `rm -f` (medians of runs with and without it, interleaved);
 * - DNS: from inside a container's network namespace, the latency of sequential queries for another container's
 *   name and the queries per second with 16 in flight, against tsnet's resolver and Docker's (127.0.0.11), by the
 *   same client.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { dockerAvailable, startDockerd, type Dockerd } from '../src/lab/dockerd.js';
import { busyboxRootfsTar } from '../src/runtime/busybox.js';
import { inThrowawayLab, parseBenchArgs } from './args.js';
import { median, round, summarise, table, timeMs, type Summary } from './stats.js';
import { startBenchDaemon, type BenchDaemon } from './tsnetd.js';

const execFileAsync = promisify(execFile);
const parseArgs = (argv: string[]) => parseBenchArgs(argv, { ops: { default: 20, min: 3, max: 200 }, queries: { default: 500, min: 50, max: 20000 } });
const DNS_PACKET = createRequire(import.meta.url).resolve('dns-packet');

export async function main(argv: string[]): Promise<void> {
  const opts = parseArgs(argv);
  if (!dockerAvailable()) {
    const skipped = 'dockerd: not installed (apt-get install docker.io)';
    console.log(opts.json ? JSON.stringify({ bench: 'ports', skipped: [skipped] }) : `skipped: ${skipped}`);
    return;
  }
  await inThrowawayLab((state) => measure(opts, state));
}

interface Tools {
  tsnet(...args: string[]): Promise<string>;
  docker(...args: string[]): Promise<string>;
}

function tools(tsnetd: BenchDaemon, dockerd: Dockerd): Tools {
  return {
    tsnet: tsnetd.cli,
    docker: async (...args) => {
      const r = await dockerd.docker(...args);
      if (r.code !== 0) throw new Error(`docker ${args.join(' ')}: ${r.stderr.trim()}`);
      return r.stdout.trim();
    },
  };
}

type Side = 'tsnet' | 'docker';
interface PublishSamples {
  runPublished: number[];
  run: number[];
  rmPublished: number[];
  rm: number[];
}

/** run -d with and without -p, and rm -f of each, interleaved between tsnet and Docker. */
async function publishing(t: Tools, ops: number, progress: (s: string) => void): Promise<Record<Side, PublishSamples>> {
  const samples: Record<Side, PublishSamples> = {
    tsnet: { runPublished: [], run: [], rmPublished: [], rm: [] },
    docker: { runPublished: [], run: [], rmPublished: [], rm: [] },
  };
  for (let i = 0; i < ops; i++) {
    for (const side of ['tsnet', 'docker'] as const) {
      const cli = side === 'tsnet' ? t.tsnet : t.docker;
      const [network, image, port] = side === 'tsnet' ? ['tn', 'busybox', 20000 + i] : ['dn', 'busybox:latest', 21000 + i];
      const s = samples[side];
      s.runPublished.push(await timeMs(() => cli('run', '-d', '--name', `p${i}`, '--network', network, '-p', `${port}:80`, image, 'sleep', '100000')));
      s.rmPublished.push(await timeMs(() => cli('rm', '-f', `p${i}`)));
      s.run.push(await timeMs(() => cli('run', '-d', '--name', `n${i}`, '--network', network, image, 'sleep', '100000')));
      s.rm.push(await timeMs(() => cli('rm', '-f', `n${i}`)));
    }
    progress(`publishing: ${i + 1}/${ops}`);
  }
  return samples;
}

/** The client run inside a namespace: sequential latencies, then 16 in flight for 2 s. */
const dnsClient = (server: string, name: string, queries: number): string => `
const p = require(${JSON.stringify(DNS_PACKET)});
const s = require('dgram').createSocket('udp4');
let id = 0; const waiting = new Map();
s.on('message', (m) => { const f = waiting.get(m.readUInt16BE(0)); if (f) { waiting.delete(m.readUInt16BE(0)); f(); } });
const ask = () => new Promise((resolve, reject) => { const q = (id = (id + 1) & 65535); const t = setTimeout(() => { waiting.delete(q); reject(new Error('timeout')); }, 2000);
  waiting.set(q, () => { clearTimeout(t); resolve(); });
  s.send(p.encode({ id: q, type: 'query', flags: p.RECURSION_DESIRED, questions: [{ type: 'A', name: ${JSON.stringify(name)} }] }), 53, ${JSON.stringify(server)}); });
(async () => {
  for (let i = 0; i < 20; i++) await ask();
  const lat = [];
  for (let i = 0; i < ${queries}; i++) { const t0 = process.hrtime.bigint(); await ask(); lat.push(Number(process.hrtime.bigint() - t0) / 1e6); }
  let done = 0; const end = Date.now() + 2000;
  const worker = async () => { while (Date.now() < end) { await ask(); done++; } };
  await Promise.all(Array.from({ length: 16 }, worker));
  console.log(JSON.stringify({ lat, qps: done / 2 }));
  process.exit(0);
})().catch((e) => { console.error(e.message); process.exit(1); });`;

async function dnsFrom(netns: string, server: string, name: string, queries: number): Promise<{ lat: number[]; qps: number }> {
  const { stdout } = await execFileAsync('nsenter', [`--net=${netns}`, '--', process.execPath, '-e', dnsClient(server, name, queries)], { timeout: 120_000 });
  return JSON.parse(stdout) as { lat: number[]; qps: number };
}

/** The PID, as this process sees it, of a Docker container's process (dockerd runs in a PID namespace of its own). */
function outerPid(containerId: string): number {
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/u.test(d))) {
    try {
      if (readFileSync(`/proc/${pid}/cgroup`, 'utf8').includes(containerId)) return Number(pid);
    } catch {
      // ended meanwhile
    }
  }
  throw new Error(`no process of container ${containerId.slice(0, 12)} is visible`);
}

async function measure(opts: ReturnType<typeof parseArgs>, state: string): Promise<void> {
  const progress = (text: string): void => {
    if (!opts.json && process.stderr.isTTY) process.stderr.write(`\r${text}`.padEnd(60));
  };
  const tsnetd = await startBenchDaemon(state);
  const dockerd = await startDockerd(join(state, 'dockerlab'), '/proc/self/ns/net');
  const t = tools(tsnetd, dockerd);
  try {
    const rootfs = await busyboxRootfsTar(state);
    await t.tsnet('image', 'import', rootfs, 'busybox');
    await t.docker('import', rootfs, 'busybox:latest');
    await t.tsnet('network', 'create', '--subnet', '10.85.0.0/24', 'tn');
    await t.docker('network', 'create', '--subnet', '10.86.0.0/24', 'dn');
    const publish = await publishing(t, opts.ops, progress);
    // DNS: a client container and a target container on each side; the client asks for the target's name.
    for (const [cli, net, image] of [
      [t.tsnet, 'tn', 'busybox'],
      [t.docker, 'dn', 'busybox:latest'],
    ] as const) {
      for (const name of ['target', 'client']) await cli('run', '-d', '--name', name, '--network', net, image, 'sleep', '100000');
    }
    progress('dns: tsnet');
    const sandbox = await t.tsnet('inspect', '-f', '{{.NetworkSettings.SandboxID}}', 'client');
    const tsnetDns = await dnsFrom(join(state, 'netns', sandbox), '10.85.0.1', 'target', opts.queries);
    progress('dns: docker');
    const dockerDns = await dnsFrom(`/proc/${outerPid(await t.docker('inspect', '-f', '{{.Id}}', 'client'))}/ns/net`, '127.0.0.11', 'target', opts.queries);
    progress('');
    report(opts, publish, { tsnet: tsnetDns, docker: dockerDns });
  } finally {
    // tsnet's containers and their pinned namespaces go before the state folder does.
    const ids = (await t.tsnet('ps', '-aq').catch(() => '')).split('\n').filter(Boolean);
    if (ids.length) await t.tsnet('rm', '-f', ...ids).catch(() => undefined);
    await dockerd.stop();
    await tsnetd.stop();
  }
}

function report(opts: ReturnType<typeof parseArgs>, publish: Record<Side, PublishSamples>, dns: Record<Side, { lat: number[]; qps: number }>): void {
  const added = (s: PublishSamples): { publishMs: number; unpublishMs: number } => ({
    publishMs: round(median(s.runPublished) - median(s.run)),
    unpublishMs: round(median(s.rmPublished) - median(s.rm)),
  });
  const side = (k: Side) => ({
    runPublished: summarise(publish[k].runPublished),
    run: summarise(publish[k].run),
    rmPublished: summarise(publish[k].rmPublished),
    rm: summarise(publish[k].rm),
    added: added(publish[k]),
    dns: { latency: summarise(dns[k].lat), qps: Math.round(dns[k].qps) },
  });
  const result = {
    bench: 'ports',
    ops: opts.ops,
    queries: opts.queries,
    tsnet: side('tsnet'),
    docker: side('docker'),
    ratio: {
      runPublished: round(median(publish.docker.runPublished) / median(publish.tsnet.runPublished), 2),
      rmPublished: round(median(publish.docker.rmPublished) / median(publish.tsnet.rmPublished), 2),
      dnsLatency: round(median(dns.docker.lat) / median(dns.tsnet.lat), 2),
      dnsQps: round(dns.tsnet.qps / dns.docker.qps, 2),
    },
    target: 'publishing no slower than Docker; DNS at least as fast as Docker embedded resolver (ratios >= 1)',
  };
  if (opts.json) return void console.log(JSON.stringify(result));
  const row = (what: string, k: Side, s: Summary): (string | number)[] => [what, k, s.medianMs, s.p95Ms];
  console.log(`tsnet and Docker (bridge driver, default configuration), ${opts.ops} containers each, interleaved\n`);
  console.log(
    table(
      ['operation', 'by', 'median ms', 'p95 ms'],
      (['tsnet', 'docker'] as const).flatMap((k) => [
        row('run -d -p', k, result[k].runPublished),
        row('run -d', k, result[k].run),
        row('rm -f (published)', k, result[k].rmPublished),
        row('rm -f', k, result[k].rm),
        row(`dns query (${opts.queries}, sequential)`, k, result[k].dns.latency),
      ]),
    ),
  );
  console.log(
    `\nwhat -p adds: tsnet ${result.tsnet.added.publishMs} ms to run, ${result.tsnet.added.unpublishMs} ms to rm; ` +
      `Docker ${result.docker.added.publishMs} ms to run, ${result.docker.added.unpublishMs} ms to rm`,
  );
  console.log(`dns queries per second (16 in flight): tsnet ${result.tsnet.dns.qps}, Docker ${result.docker.dns.qps}`);
  console.log(
    `Docker / tsnet: run -p ${result.ratio.runPublished}x, rm -f ${result.ratio.rmPublished}x, dns latency ${result.ratio.dnsLatency}x; ` +
      `dns qps tsnet / Docker ${result.ratio.dnsQps}x (target: at least 1x each)`,
  );
}
