/**
 * `npm run bench -- overlay [--json] [--runs N]`: an overlay network across two hosts (namespaces, each with its own
 * daemon) on an underlay bridge, with etcd on the underlay, against a bridge network on one host, measured in the
 * same run: attach latency (a running container connected through the API, then disconnected), RTT (iputils ping
 * at 2 ms intervals between two containers' namespaces), TCP throughput (iperf3 for 3 s), and the time from a
 * remote attach's answer to the first reply from the new endpoint (a prober pinging every millisecond).
 */
import { execFile, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { TsnetClient } from '../src/client/client.js';
import { UNDERLAY, hostAddress, linkUnderlay, startEtcd, type EtcdServer } from '../src/lab/cluster.js';
import { Handle } from '../src/netlink/handle.js';
import { NetnsDirectory } from '../src/netns/netns.js';
import { busyboxRootfsTar } from '../src/runtime/busybox.js';
import { inThrowawayLab, parseBenchArgs } from './args.js';
import { round, summarise, table, timeMs, type Summary } from './stats.js';
import { startBenchDaemon, type BenchDaemon } from './tsnetd.js';

const execFileAsync = promisify(execFile);
const parseArgs = (argv: string[]) => parseBenchArgs(argv, { runs: { default: 20, min: 3, max: 200 } });

interface Host {
  daemon: BenchDaemon;
  client: TsnetClient;
  netnsDir: string;
}

/** Two hosts, etcd, busybox imported, an overlay network "ov" and a bridge network "br" on host 1. */
async function makeCluster(state: string): Promise<{ hosts: Host[]; etcd: EtcdServer; underlay: string; close(): Promise<void> }> {
  const dir = new NetnsDirectory(join(state, 'netns'));
  const underlay = dir.create('underlay');
  const nss = [dir.create('h1'), dir.create('h2')];
  const handles = [Handle.open(underlay), ...nss.map((ns) => Handle.open(ns))];
  await linkUnderlay(
    handles[0]!,
    nss.map((ns, i) => ({ ns, handle: handles[i + 1]! })),
  );
  for (const h of handles) h.close();
  const etcd = await startEtcd(underlay, join(state, 'etcd'));
  const hosts: Host[] = [];
  const tarball = await busyboxRootfsTar(state);
  for (const [i, ns] of nss.entries()) {
    const root = join(state, `h${i + 1}`);
    mkdirSync(root, { recursive: true });
    const flags = ['--cluster-store', `etcd://${UNDERLAY.etcd}`, '--cluster-advertise', hostAddress(i), '--bridge', 'none'];
    const daemon = await startBenchDaemon(root, flags, ns.path!);
    await daemon.cli('image', 'import', tarball, 'busybox');
    hosts.push({ daemon, client: new TsnetClient(`unix://${daemon.socket}`), netnsDir: join(daemon.execRoot, 'netns') });
  }
  await hosts[0]!.daemon.cli('network', 'create', '-d', 'overlay', '--subnet', '10.240.0.0/16', 'ov');
  await hosts[0]!.daemon.cli('network', 'create', '--subnet', '10.241.0.0/24', 'br');
  return {
    hosts,
    etcd,
    underlay: underlay.path!,
    close: async () => {
      for (const h of hosts) {
        const ids = (await h.daemon.cli('ps', '-aq').catch(() => '')).split('\n').filter(Boolean);
        if (ids.length) await h.daemon.cli('rm', '-f', ...ids).catch(() => undefined);
        await h.daemon.stop();
      }
      await etcd.stop();
      for (const name of ['h1', 'h2', 'underlay']) dir.delete(name, { ignoreMissing: true });
    },
  };
}

const run = (h: Host, name: string, ...flags: string[]) => h.daemon.cli('run', '-d', '--name', name, ...flags, 'busybox', 'sleep', '3600');
const netnsOf = async (h: Host, container: string) => join(h.netnsDir, await h.daemon.cli('inspect', '-f', '{{.NetworkSettings.SandboxID}}', container));
const ipOf = (h: Host, container: string, network: string) =>
  h.daemon.cli('inspect', '-f', `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`, container);
const inNs = (path: string, command: string, args: readonly string[]) =>
  execFileAsync('nsenter', [`--net=${path}`, '--', command, ...args], { timeout: 60_000 });

/** Connect and disconnect of a running container, through the API, each timed. */
async function attachTimes(h: Host, container: string, network: string, runs: number): Promise<Summary> {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    samples.push(await timeMs(() => h.client.call('POST', `/v1/networks/${network}/connect`, { container })));
    await h.client.call('POST', `/v1/networks/${network}/disconnect`, { container });
  }
  return summarise(samples);
}

/** iputils ping every 2 ms: the RTT's average and mean deviation, in ms. */
async function rtt(from: string, to: string, count: number): Promise<{ avgMs: number; mdevMs: number }> {
  const { stdout } = await inNs(from, 'ping', ['-q', '-n', '-i', '0.002', '-c', String(count), to]);
  const m = /= [\d.]+\/([\d.]+)\/[\d.]+\/([\d.]+) ms/u.exec(stdout);
  if (!m) throw new Error(`ping printed no summary: ${stdout}`);
  return { avgMs: Number(m[1]), mdevMs: Number(m[2]) };
}

/** iperf3 for 3 s from one namespace to another: the goodput the receiver saw, in Mbit/s. */
async function tcpMbps(client: string, server: string, address: string): Promise<number> {
  const srv = spawn('nsenter', [`--net=${server}`, '--', 'iperf3', '-s', '-1', '-B', address], { stdio: 'ignore' });
  try {
    await new Promise((r) => setTimeout(r, 300));
    const { stdout } = await inNs(client, 'iperf3', ['-c', address, '-t', '3', '-J']);
    const report = JSON.parse(stdout) as { end: { sum_received: { bits_per_second: number } } };
    return round(report.end.sum_received.bits_per_second / 1e6, 1);
  } finally {
    if (srv.exitCode === null) srv.kill('SIGTERM');
  }
}

/**
 * From a remote attach's answer to the first reply from the new endpoint: a prober on host 1 pings the address it
 * will get every millisecond (its ARP retried every millisecond too, so that the kernel's 1 s default does not
 * hide the time), while host 2 connects a container to the overlay with that address.
 */
async function reachableAfterAttach(prober: string, h2: Host, container: string, runs: number): Promise<Summary> {
  await inNs(prober, 'sysctl', ['-q', '-w', 'net.ipv4.neigh.eth0.retrans_time_ms=1', 'net.ipv4.neigh.eth0.mcast_solicit=100']);
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const ip = `10.240.9.${10 + i}`;
    const ping = spawn('nsenter', [`--net=${prober}`, '--', 'ping', '-n', '-D', '-i', '0.001', '-c', '60000', ip], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    const replied = new Promise<number>((resolve) =>
      ping.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /\[(\d+\.\d+)\] \d+ bytes from/u.exec(out);
        if (m) resolve(Number(m[1]) * 1000);
      }),
    );
    try {
      await new Promise((r) => setTimeout(r, 50));
      await h2.client.call('POST', '/v1/networks/ov/connect', { container, ip });
      const attached = Date.now();
      const first = await Promise.race([replied, new Promise<number>((_, reject) => setTimeout(() => reject(new Error(`${ip} never answered`)), 10_000))]);
      samples.push(Math.max(0, first - attached));
    } finally {
      ping.kill('SIGTERM');
      await h2.client.call('POST', '/v1/networks/ov/disconnect', { container }).catch(() => undefined);
    }
  }
  return summarise(samples);
}

/** etcd's own account of its write-ahead log's fsyncs (its /metrics): every committed change waits for one. */
async function etcdFsyncMs(underlay: string): Promise<{ count: number; meanMs: number }> {
  const { stdout } = await inNs(underlay, 'curl', ['-s', `http://${UNDERLAY.etcd}/metrics`]);
  const value = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'mu').exec(stdout)?.[1] ?? NaN);
  const count = value('etcd_disk_wal_fsync_duration_seconds_count');
  return { count, meanMs: round((value('etcd_disk_wal_fsync_duration_seconds_sum') / count) * 1000, 2) };
}

interface Figures {
  attach: { overlay: Summary; bridge: Summary };
  rttMs: { overlay: { avgMs: number; mdevMs: number }; bridge: { avgMs: number; mdevMs: number } };
  tcpMbps: { overlay: number; bridge: number };
  reachableAfterAttach: Summary;
  etcdFsync?: { count: number; meanMs: number };
}

async function measure(hosts: Host[], runs: number): Promise<Figures> {
  const [h1, h2] = hosts as [Host, Host];
  await run(h1, 'a1', '--network', 'ov');
  await run(h2, 'a2', '--network', 'ov');
  await run(h1, 'b1', '--network', 'br');
  await run(h1, 'b2', '--network', 'br');
  await run(h1, 'x1', '--network', 'none');
  await run(h2, 'x2', '--network', 'none');
  const [a1, a2, b1, b2] = await Promise.all([netnsOf(h1, 'a1'), netnsOf(h2, 'a2'), netnsOf(h1, 'b1'), netnsOf(h1, 'b2')]);
  const [a2ip, b2ip] = await Promise.all([ipOf(h2, 'a2', 'ov'), ipOf(h1, 'b2', 'br')]);
  // A first ping each way settles ARP before anything is timed.
  await rtt(a1, a2ip, 3);
  await rtt(b1, b2ip, 3);
  return {
    attach: { overlay: await attachTimes(h1, 'x1', 'ov', runs), bridge: await attachTimes(h1, 'x1', 'br', runs) },
    rttMs: { overlay: await rtt(a1, a2ip, 500), bridge: await rtt(b1, b2ip, 500) },
    tcpMbps: { overlay: await tcpMbps(a1, a2, a2ip), bridge: await tcpMbps(b1, b2, b2ip) },
    reachableAfterAttach: await reachableAfterAttach(a1, h2, 'x2', runs),
  };
}

function print(f: Figures, runs: number): void {
  const ratio = (a: number, b: number) => `${round(a / b, 2)}x`;
  console.log(
    table(
      ['measure', 'overlay (2 hosts)', 'bridge (1 host)', 'overlay/bridge'],
      [
        ['attach, median ms', f.attach.overlay.medianMs, f.attach.bridge.medianMs, ratio(f.attach.overlay.medianMs, f.attach.bridge.medianMs)],
        ['attach, p95 ms', f.attach.overlay.p95Ms, f.attach.bridge.p95Ms, ratio(f.attach.overlay.p95Ms, f.attach.bridge.p95Ms)],
        [
          'RTT avg ms (mdev)',
          `${f.rttMs.overlay.avgMs} (${f.rttMs.overlay.mdevMs})`,
          `${f.rttMs.bridge.avgMs} (${f.rttMs.bridge.mdevMs})`,
          ratio(f.rttMs.overlay.avgMs, f.rttMs.bridge.avgMs),
        ],
        ['TCP Mbit/s', f.tcpMbps.overlay, f.tcpMbps.bridge, ratio(f.tcpMbps.overlay, f.tcpMbps.bridge)],
        ['remote endpoint reachable after attach, median ms', f.reachableAfterAttach.medianMs, '-', '-'],
        ['remote endpoint reachable after attach, p95 ms', f.reachableAfterAttach.p95Ms, '-', '-'],
        ...(f.etcdFsync ? [['etcd WAL fsync, mean ms (the floor of each etcd write)', f.etcdFsync.meanMs, '-', '-']] : []),
      ],
    ),
  );
  console.log(`\n${runs} attaches per network and ${runs} remote attaches; RTT over 500 pings; TCP over 3 s of iperf3.`);
  console.log('An overlay attach writes to etcd twice (its address in a transaction, then its announcement): two fsyncs.');
}

export async function main(argv: string[]): Promise<void> {
  const opts = parseArgs(argv);
  await inThrowawayLab(async (state) => {
    if (!opts.json) console.log('overlay: two hosts, etcd, two daemons...');
    const cluster = await makeCluster(state);
    try {
      const figures: Figures = { ...(await measure(cluster.hosts, opts.runs)), etcdFsync: await etcdFsyncMs(cluster.underlay) };
      if (opts.json) console.log(JSON.stringify({ bench: 'overlay', runs: opts.runs, ...figures }, null, 2));
      else print(figures, opts.runs);
    } finally {
      await cluster.close();
    }
  });
}
