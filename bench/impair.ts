/**
 * `npm run bench -- impair [--json]`: the fidelity of lab link impairments with real packets between two lab nodes:
 * random loss over 14,000 probes, a 10 Mbit/s rate with TCP and UDP (iperf3), 20 ms of delay and 5 ms of jitter,
 * each as configured, measured and the error, with the bound the tests hold it to; and what the delay engine carries
 * through one delayed link (TCP, and 64-byte UDP packets per second) with its relay's CPU. In the same run, Mininet's TCLink with the same parameters (Linux
 * bridge, no controller) when Debian's mininet is installed: on a kernel without netem it applies no loss or delay.
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { busyboxRootfsTar } from '../src/runtime/busybox.js';
import { inThrowawayLab, parseBenchArgs } from './args.js';
import { round, table } from './stats.js';
import { startBenchDaemon } from './tsnetd.js';

const execFileAsync = promisify(execFile);
const IPERF3 = '/usr/bin/iperf3';
const PYTHON = '/usr/bin/python3';
const PROBES = 14000;
const LOSS = 5;
const RATE = 10e6;
const TCP_EXPECTED = (RATE * 1448) / 1514;
const UDP_EXPECTED = (RATE * 1400) / 1442;
const LOSS_BOUND = 300 * Math.sqrt(((LOSS / 100) * (1 - LOSS / 100)) / PROBES);

interface Figures {
  lossPct: number;
  tcpMbit: number;
  udpMbit: number;
  /** RTT with 20 ms on the way out (ms), and its spread with 5 ms of jitter (ms). */
  delayRttMs?: number;
  jitterMdevMs?: number;
  /** Shares (%) over 2,000 probes: duplicated at 5%, sent at once at 25% reorder of a delayed link; Gilbert-Elliott p 1% r 10% over 14,000. */
  duplicatePct?: number;
  reorderPct?: number;
  gilbertElliottPct?: number;
  /** Share (%) of 1,042-byte frames lost at the receiver's checks with corrupt 5%, over PROBES. */
  corruptPct?: number;
}

interface Ceiling {
  tcpMbit: number;
  udpPps: number;
  /** The relay's CPU time per second of traffic (%), TCP and small UDP. */
  tcpCpuPct: number;
  udpCpuPct: number;
}

const DELAY_MS = 20;
const JITTER_MS = 5;

/** A ping run's average RTT and its spread (iputils' mdev), in ms. */
function rttStats(out: string): { avg: number; mdev: number } {
  const m = /rtt min\/avg\/max\/mdev = [\d.]+\/([\d.]+)\/[\d.]+\/([\d.]+) ms/u.exec(out);
  return { avg: m ? Number(m[1]) : NaN, mdev: m ? Number(m[2]) : NaN };
}

const TOPOLOGY =
  'name: impair\ntopology:\n  nodes:\n    n1: { kind: linux, image: busybox, network-mode: none }\n    n2: { kind: linux, image: busybox, network-mode: none }\n  links:\n    - endpoints: ["n1:eth1", "n2:eth1"]\n';
const COMPANION = `nodes:\n  n1:\n    interfaces:\n      eth1: { addresses: [10.201.0.1/30], impair: { loss: ${LOSS}% } }\n  n2:\n    interfaces:\n      eth1: { addresses: [10.201.0.2/30] }\n`;

type Run = (node: 'a' | 'b', argv: string[]) => Promise<string>;

interface IperfEnd {
  end: { sum_received?: { bits_per_second: number }; sum?: { bits_per_second: number; packets?: number; lost_packets?: number; seconds?: number } };
}

/** iperf3 from a to b for 5 s: the receiver's goodput (Mbit/s), or with pps its packets per second (UDP). */
function iperfWith(run: Run, target: string): (args: string[], pps?: boolean) => Promise<number> {
  const why = (err: { stderr?: string; stdout?: string; message: string }): string =>
    [(err.stdout ?? '').trim().split('\n').slice(-2).join(' '), (err.stderr ?? '').trim()].filter(Boolean).join(' ') || err.message;
  return async (args, pps = false) => {
    // A one-off server, settled at once so that one that fails is reported with its reason, never left unhandled; a
    // new one only once the last has ended (a client that came too early leaves it waiting).
    let server: Promise<Error | undefined> | undefined;
    let ended = true;
    for (let i = 0; ; i++) {
      if (ended) {
        ended = false;
        server = run('b', [IPERF3, '-s', '-1', '-B', target]).then(
          () => void (ended = true),
          (err: { stderr?: string; stdout?: string; message: string }) => ((ended = true), new Error(`iperf3 server: ${why(err)}`)),
        );
      }
      await new Promise((r) => setTimeout(r, 100)); // until it listens
      const client = await run('a', [IPERF3, '-c', target, '-J', '-t', '5', ...args]).catch((err: { stdout?: string; message: string }) => err);
      if (typeof client === 'string') {
        const failed = await server;
        if (failed) throw failed;
        const r = JSON.parse(client) as IperfEnd;
        if (pps) return ((r.end.sum?.packets ?? 0) - (r.end.sum?.lost_packets ?? 0)) / (r.end.sum?.seconds ?? 1);
        return (r.end.sum_received ?? r.end.sum)!.bits_per_second / 1e6;
      }
      if (i > 30) throw new Error(`iperf3 client: ${why(client as { stdout?: string; message: string })}`);
    }
  };
}

/** Flood-ping loss (percent), then (after setRate) iperf3 goodputs, with commands run through `run(node, argv)`. */
async function measure(run: Run, target: string, setRate: () => Promise<void>): Promise<Figures> {
  const ping = await run('a', ['ping', '-f', '-c', String(PROBES), '-q', target]).catch((err: { stdout?: string }) => err.stdout ?? '');
  const m = /(\d+) packets transmitted, (\d+) received/u.exec(ping);
  const lossPct = m ? (100 * (Number(m[1]) - Number(m[2]))) / Number(m[1]) : NaN;
  await setRate();
  const iperf = iperfWith(run, target);
  return { lossPct, tcpMbit: await iperf([]), udpMbit: await iperf(['-u', '-b', '20M', '-l', '1400']) };
}

/** CPU time (ms) a process has used so far. */
function cpuMs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
}

/** What one delayed link carries, TCP (4 streams) and 64-byte UDP, and the CPU its relay spends doing it. */
async function engineCeiling(run: Run, relay: number): Promise<Ceiling> {
  const iperf = iperfWith(run, '10.201.0.2');
  let c0 = cpuMs(relay);
  const tcpMbit = await iperf(['-P', '4']);
  const tcpCpuPct = (cpuMs(relay) - c0) / 50; // of 5 s
  c0 = cpuMs(relay);
  const udpPps = await iperf(['-u', '-b', '0', '-l', '64'], true);
  const udpCpuPct = (cpuMs(relay) - c0) / 50;
  return { tcpMbit, udpPps, tcpCpuPct, udpCpuPct };
}

/** Delay, then jitter, on n1's end: the RTT and its spread; then the engine's ceiling. */
async function delayFigures(
  run: Run,
  set: (...flags: string[]) => Promise<string>,
  relayOf: () => Promise<number>,
): Promise<{ figures: Partial<Figures>; ceiling: Ceiling }> {
  await set('--clear', '--delay', `${DELAY_MS}ms`);
  const delayRttMs = rttStats(await run('a', ['ping', '-q', '-c', '200', '-i', '0.01', '10.201.0.2'])).avg;
  await set('--jitter', `${JITTER_MS}ms`);
  const jitterMdevMs = rttStats(await run('a', ['ping', '-q', '-c', '2000', '-i', '0.002', '10.201.0.2'])).mdev;
  await set('--clear', '--duplicate', '5%');
  const dup = await run('a', ['ping', '-q', '-c', '2000', '-i', '0.002', '10.201.0.2']);
  const duplicatePct = (100 * Number(/\+(\d+) duplicates/u.exec(dup)?.[1] ?? 0)) / 2000;
  await set('--clear', '--delay', `${DELAY_MS}ms`, '--reorder', '25%');
  const lines = await run('a', ['ping', '-c', '2000', '-i', '0.002', '10.201.0.2']);
  const reorderPct = (100 * [...lines.matchAll(/time=([\d.]+) ms/gu)].filter((m) => Number(m[1]) < DELAY_MS / 2).length) / 2000;
  await set('--clear', '--loss-model', '1%,10%');
  const ge = await run('a', ['ping', '-f', '-q', '-c', String(PROBES), '10.201.0.2']).catch((err: { stdout?: string }) => err.stdout ?? '');
  const m = /(\d+) packets transmitted, (\d+) received/u.exec(ge);
  const gilbertElliottPct = m ? (100 * (Number(m[1]) - Number(m[2]))) / Number(m[1]) : NaN;
  await set('--clear', '--corrupt', '5%');
  const bad = await run('a', ['ping', '-f', '-q', '-c', String(PROBES), '-s', '1000', '10.201.0.2']).catch((err: { stdout?: string }) => err.stdout ?? '');
  const c = /(\d+) packets transmitted, (\d+) received/u.exec(bad);
  const corruptPct = c ? (100 * (Number(c[1]) - Number(c[2]))) / Number(c[1]) : NaN;
  await set('--clear', '--delay', `${DELAY_MS}ms`);
  return { figures: { delayRttMs, jitterMdevMs, duplicatePct, reorderPct, gilbertElliottPct, corruptPct }, ceiling: await engineCeiling(run, await relayOf()) };
}

async function tsnetFigures(state: string): Promise<{ figures: Figures; ceiling: Ceiling }> {
  const d = await startBenchDaemon(state, ['--bridge', 'none']);
  try {
    await d.cli('image', 'import', await busyboxRootfsTar(state), 'busybox');
    writeFileSync(join(state, 'impair.clab.yml'), TOPOLOGY);
    writeFileSync(join(state, 'impair.tsnet.yml'), COMPANION);
    await d.cli('lab', 'deploy', '-t', join(state, 'impair.clab.yml'));
    const netns = async (node: string): Promise<string> =>
      join(state, 'netns', await d.cli('inspect', '-f', '{{.NetworkSettings.SandboxID}}', `clab-impair-${node}`));
    const ns = { a: await netns('n1'), b: await netns('n2') };
    const run: Run = async (node, argv) => (await execFileAsync('nsenter', [`--net=${ns[node]}`, '--', ...argv], { timeout: 120_000 })).stdout;
    const set = (...flags: string[]): Promise<string> => d.cli('lab', 'link', 'set', '--name', 'impair', 'n1:eth1', ...flags);
    const figures = await measure(run, '10.201.0.2', () => set('--rate', '10mbit', '--loss', '0').then(() => undefined));
    const relayOf = async (): Promise<number> => {
      const links = JSON.parse(await d.cli('lab', 'link', 'show', '--name', 'impair', '--format', 'json')) as {
        ends: { endpoint: string; relayPid?: number }[];
      }[];
      return links[0]!.ends.find((e) => e.endpoint === 'n1:eth1')!.relayPid!;
    };
    const delayed = await delayFigures(run, set, relayOf);
    return { figures: { ...figures, ...delayed.figures }, ceiling: delayed.ceiling };
  } finally {
    await d.cli('lab', 'destroy', '--name', 'impair').catch(() => undefined);
    await d.stop();
  }
}

const MININET = `
import json, subprocess, sys, time
from mininet.net import Mininet
from mininet.link import TCLink
from mininet.nodelib import LinuxBridge
from mininet.log import setLogLevel
setLogLevel('error')
net = Mininet(switch=LinuxBridge, controller=None, link=TCLink, autoSetMacs=True)
h1, h2 = net.addHost('h1'), net.addHost('h2')
s1 = net.addSwitch('s1')
net.addLink(h1, s1, loss=${LOSS})
net.addLink(h2, s1)
net.start()
out = {}
ping = h1.cmd('ping -f -c ${PROBES} -q %s' % h2.IP())
out['ping'] = ping
link1 = [l for l in net.links if h1 in (l.intf1.node, l.intf2.node)][0]
intf = link1.intf1 if link1.intf1.node == h1 else link1.intf2
intf.config(delay='${DELAY_MS}ms')
out['delay'] = h1.cmd('ping -q -c 200 -i 0.01 %s' % h2.IP())
intf.config(delay='${DELAY_MS}ms', jitter='${JITTER_MS}ms')
out['jitter'] = h1.cmd('ping -q -c 2000 -i 0.002 %s' % h2.IP())
intf.config(bw=${RATE / 1e6}, loss=0)
for name, args in (('tcp', ''), ('udp', '-u -b 20M -l 1400')):
    h2.cmd('${IPERF3} -s -1 -D')
    time.sleep(0.5)
    out[name] = h1.cmd('${IPERF3} -c %s -J -t 5 %s' % (h2.IP(), args))
net.stop()
print(json.dumps(out))
`;

function mininetFigures(): Figures | undefined {
  if (spawnSync(PYTHON, ['-c', 'import mininet.net'], { stdio: 'ignore' }).status !== 0) return undefined;
  const r = spawnSync(PYTHON, ['-c', MININET], { encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`mininet: ${r.stderr.trim().split('\n').slice(-3).join(' ')}`);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { ping: string; tcp: string; udp: string; delay: string; jitter: string };
  const m = /(\d+) packets transmitted, (\d+) received/u.exec(out.ping);
  const bps = (text: string): number => {
    const j = JSON.parse(text.slice(text.indexOf('{'))) as { end: { sum_received?: { bits_per_second: number }; sum?: { bits_per_second: number } } };
    return (j.end.sum_received ?? j.end.sum)!.bits_per_second / 1e6;
  };
  return {
    lossPct: m ? (100 * (Number(m[1]) - Number(m[2]))) / Number(m[1]) : NaN,
    tcpMbit: bps(out.tcp),
    udpMbit: bps(out.udp),
    delayRttMs: rttStats(out.delay).avg,
    jitterMdevMs: rttStats(out.jitter).mdev,
  };
}

/** The fidelity rows: configured, bound, and each tool's measure and error. */
function fidelityRows(ts: Figures, mn: Figures | undefined) {
  const row = (what: string, configured: number, unit: string, bound: number, pick: (f: Figures) => number | undefined) => {
    const t = pick(ts) ?? NaN;
    const m = mn ? pick(mn) : undefined;
    return {
      what,
      configured: round(configured, 3),
      unit,
      bound: round(bound, 3),
      ts: round(t, 3),
      tsError: round(t - configured, 3),
      ...(m !== undefined ? { mn: round(m, 3), mnError: round(m - configured, 3) } : {}),
    };
  };
  return [
    row(`loss (${PROBES} probes)`, LOSS, '%', LOSS_BOUND, (f) => f.lossPct),
    row(`delay ${DELAY_MS} ms one way: RTT`, DELAY_MS, 'ms', DELAY_MS * 0.05, (f) => f.delayRttMs),
    row(`jitter ${JITTER_MS} ms normal: RTT spread`, JITTER_MS, 'ms', JITTER_MS * 0.1, (f) => f.jitterMdevMs),
    row('duplicate 5% (2,000 probes)', 5, '%', 300 * Math.sqrt((0.05 * 0.95) / 2000), (f) => f.duplicatePct),
    row('reorder 25% of a delayed link (2,000)', 25, '%', 300 * Math.sqrt((0.25 * 0.75) / 2000), (f) => f.reorderPct),
    // Correlated losses: the binomial variance grows by (1 + lambda) / (1 - lambda), lambda = 1 - p - r.
    row(`Gilbert-Elliott p 1% r 10% (${PROBES})`, 100 / 11, '%', 300 * Math.sqrt(((1 / 11) * (10 / 11) * (1.89 / 0.11)) / PROBES), (f) => f.gilbertElliottPct),
    // A flip in the source MAC address (6 of 1,042 bytes) harms nothing: the share the receiver loses is a little less.
    row(`corrupt 5%: lost at the receiver's checks (${PROBES})`, 5 * (1 - 6 / 1042), '%', 300 * Math.sqrt((0.05 * 0.95) / PROBES), (f) => f.corruptPct),
    row('rate, TCP goodput', TCP_EXPECTED / 1e6, 'Mbit/s', (TCP_EXPECTED / 1e6) * 0.05, (f) => f.tcpMbit),
    row('rate, UDP goodput', UDP_EXPECTED / 1e6, 'Mbit/s', (UDP_EXPECTED / 1e6) * 0.02, (f) => f.udpMbit),
  ];
}

export async function main(argv: string[]): Promise<void> {
  const opts = parseBenchArgs(argv, {});
  if (!existsSync(IPERF3)) throw new Error('iperf3 is not installed: scripts/setup.sh installs it');
  await inThrowawayLab(async (state) => {
    const { figures: ts, ceiling } = await tsnetFigures(state);
    const mn = mininetFigures();
    const rows = fidelityRows(ts, mn);
    const engine = {
      tcpMbit: round(ceiling.tcpMbit, 1),
      udp64Pps: Math.round(ceiling.udpPps),
      relayCpuPctTcp: round(ceiling.tcpCpuPct, 1),
      relayCpuPctUdp: round(ceiling.udpCpuPct, 1),
      target: 'at least 100 Mbit/s of TCP through one delayed link',
    };
    const result = { bench: 'impair', rows, delayEngine: engine, ...(mn ? {} : { skipped: ['mininet: not installed (apt-get install mininet)'] }) };
    if (opts.json) return console.log(JSON.stringify(result));
    console.log('lab link impairments, two lab nodes, real packets (rate: the expected goodput is the rate less the frame headers)\n');
    console.log(
      table(
        ['impairment', 'configured', 'unit', 'bound +/-', 'tsnet', 'tsnet error', 'mininet', 'mininet error'],
        rows.map((r) => [r.what, r.configured, r.unit, r.bound, r.ts, r.tsError, r.mn ?? '-', r.mnError ?? '-']),
      ),
    );
    console.log(
      `\ndelay engine, one link delayed ${DELAY_MS} ms: TCP ${engine.tcpMbit} Mbit/s (4 streams; the relay ${engine.relayCpuPctTcp}% of a core), ` +
        `64-byte UDP ${engine.udp64Pps} packets/s (the relay ${engine.relayCpuPctUdp}% of a core); target: ${engine.target}`,
    );
  });
}
