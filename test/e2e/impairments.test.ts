/**
 * Lab link impairments with real packets between two real lab nodes (no netem on this kernel): a declared random
 * loss measured over 14,000 probes within 3 standard errors; a rate set live measured with iperf3 (TCP goodput within
 * 5% of the rate less the headers, UDP within 2%); delay and jitter held by tsnet's engine (by the median and the
 * interquartile range: test/helpers/rtt-stats.ts); down and up; corruption refused by name; what lab doctor reports.
 * These measure what the feature is, so they are the tests that assert on rates, with the tolerances above.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, expect, it } from 'vitest';
import { startDaemon, tsnet, useBusyboxDaemon } from '../helpers/daemon.js';
import { describeKernel } from '../helpers/lab.js';
import { replyTimes, rttStats, type RttStats } from '../helpers/rtt-stats.js';
import { twoNodeLab } from '../helpers/two-node-lab.js';

const execFileAsync = promisify(execFile);

/** Whether a process runs (a zombie, ended but not yet reaped, does not). */
function alive(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}
const IPERF3 = '/usr/bin/iperf3';

const { topology: TOPOLOGY, companion: COMPANION } = twoNodeLab('imp', '{ loss: 5% }');

interface EndView {
  endpoint: string;
  impairment: string;
  engines: string[];
  up: boolean;
  lossDrops: number;
  rateDrops: number;
  relayPid?: number;
}

describeKernel('lab link impairments, measured', () => {
  const env = useBusyboxDaemon(['--bridge', 'none']);
  const netns: Record<string, string> = {};
  const ok = async (...args: string[]): Promise<string> => {
    const r = await tsnet(env.d, ...args);
    if (r.code !== 0) throw new Error(`tsnet ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  };
  /** A command in a node's network namespace (the host's tools: iputils ping, iperf3). */
  const inNode = async (node: string, command: string, args: string[], timeoutMs = 60_000): Promise<string> =>
    (await execFileAsync('nsenter', [`--net=${netns[node]}`, '--', command, ...args], { timeout: timeoutMs })).stdout;
  const ends = async (): Promise<EndView[]> =>
    (JSON.parse(await ok('lab', 'link', 'show', '--name', 'imp', '--format', 'json')) as { ends: EndView[] }[]).flatMap((l) => l.ends);

  beforeAll(async () => {
    const file = join(env.lab.dir, 'imp.clab.yml');
    writeFileSync(file, TOPOLOGY);
    writeFileSync(join(env.lab.dir, 'imp.tsnet.yml'), COMPANION);
    await ok('lab', 'deploy', '-t', file);
    for (const node of ['n1', 'n2']) {
      const sandbox = (await ok('inspect', '-f', '{{.NetworkSettings.SandboxID}}', `clab-imp-${node}`)).trim();
      netns[node] = join(env.lab.dir, 'daemon-netns', sandbox);
    }
  });

  it('drops the declared 5% of 14,000 packets, within 3 standard errors, without telling the sender', async () => {
    const out = await inNode('n1', 'ping', ['-f', '-c', '14000', '-q', '10.200.0.2'], 120_000).catch((err: { stdout?: string }) => err.stdout ?? '');
    const m = /(\d+) packets transmitted, (\d+) received/u.exec(out);
    expect(m, out).not.toBeNull();
    const [sent, received] = [Number(m![1]), Number(m![2])];
    expect(sent).toBe(14000); // a drop on the way out would have failed sends, and ping would have sent more
    const loss = (100 * (sent - received)) / sent;
    const threeSe = 300 * Math.sqrt((0.05 * 0.95) / sent);
    expect(Math.abs(loss - 5), `measured ${loss.toFixed(2)}%`).toBeLessThanOrEqual(threeSe);
    const n1 = (await ends()).find((e) => e.endpoint === 'n1:eth1')!;
    expect(n1).toMatchObject({ impairment: 'loss 5%', engines: ['cls_bpf (peer ingress)'], up: true });
    expect(n1.lossDrops).toBe(sent - received);
  });

  it.skipIf(!existsSync(IPERF3))('limits the rate set live: TCP goodput within 5% of it (less headers), UDP within 2%', async () => {
    await ok('lab', 'link', 'set', '--name', 'imp', 'n1:eth1', '--rate', '10mbit', '--loss', '0');
    expect((await ends()).find((e) => e.endpoint === 'n1:eth1')).toMatchObject({ impairment: 'rate 10mbit burst 16kb', engines: ['tbf'] });
    const server = execFileAsync('nsenter', [`--net=${netns['n2']}`, '--', IPERF3, '-s', '-1', '-B', '10.200.0.2'], { timeout: 60_000 });
    const measure = async (args: string[]): Promise<number> => {
      for (let i = 0; ; i++) {
        try {
          const r = JSON.parse(await inNode('n1', IPERF3, ['-c', '10.200.0.2', '-J', '-t', '4', ...args])) as {
            end: { sum_received?: { bits_per_second: number }; sum?: { bits_per_second: number } };
          };
          return (r.end.sum_received ?? r.end.sum)!.bits_per_second;
        } catch (err) {
          if (i > 20) throw err;
          await new Promise((r) => setTimeout(r, 100)); // the server is not listening yet
        }
      }
    };
    const tcp = await measure([]);
    await server;
    const tcpExpected = (10e6 * 1448) / 1514; // 1514-byte frames carry 1448 bytes of TCP payload
    expect(Math.abs(tcp - tcpExpected) / tcpExpected, `TCP ${(tcp / 1e6).toFixed(3)} Mbit/s`).toBeLessThanOrEqual(0.05);
    const udpServer = execFileAsync('nsenter', [`--net=${netns['n2']}`, '--', IPERF3, '-s', '-1', '-B', '10.200.0.2'], { timeout: 60_000 });
    const udp = await measure(['-u', '-b', '20M', '-l', '1400']);
    await udpServer;
    const udpExpected = (10e6 * 1400) / 1442; // 1400 bytes of UDP payload in 1442-byte frames
    expect(Math.abs(udp - udpExpected) / udpExpected, `UDP ${(udp / 1e6).toFixed(3)} Mbit/s`).toBeLessThanOrEqual(0.02);
    expect((await ends()).find((e) => e.endpoint === 'n1:eth1')!.rateDrops).toBeGreaterThan(0); // the UDP above the rate
    await ok('lab', 'link', 'set', '--name', 'imp', 'n1:eth1', '--clear');
    expect(await inNode('n1', 'tc', ['qdisc', 'show', 'dev', 'eth1'])).not.toContain('tbf'); // the kernel's word, not tsnet's record
  });

  /** RTT statistics of n1 pinging n2 (ms), from each reply's time (why these: test/helpers/rtt-stats.ts). */
  const rtts = async (count: number, interval: string): Promise<RttStats> =>
    rttStats(replyTimes(await inNode('n1', 'ping', ['-c', String(count), '-i', interval, '10.200.0.2'], 120_000)));

  it("delays what leaves an end by 20 ms (+/- 5%) and draws jitter with the configured spread (+/- 10%), in tsnet's own engine", async () => {
    const base = await rtts(200, '0.01');
    await ok('lab', 'link', 'set', '--name', 'imp', 'n1:eth1', '--clear', '--delay', '20ms');
    // In effect once the command returns: the very next packet is held.
    expect((await rtts(1, '0.01')).min).toBeGreaterThan(19);
    expect((await ends()).find((e) => e.endpoint === 'n1:eth1')).toMatchObject({ impairment: 'delay 20ms', engines: ['delay engine'] });
    const plain = await rtts(200, '0.01');
    expect(plain.received).toBe(200);
    expect(plain.min, 'no packet is sent before its delay').toBeGreaterThanOrEqual(20);
    const added = plain.median - base.median;
    expect(Math.abs(added - 20) / 20, `RTT ${plain.median} ms over ${base.median} ms`).toBeLessThanOrEqual(0.05);

    // 4,000 draws: 3 standard errors are 1.5% of 20 ms for the median, 5.5% of 5 ms for the spread.
    await ok('lab', 'link', 'set', '--name', 'imp', 'n1:eth1', '--jitter', '5ms');
    const jittered = await rtts(4000, '0.002');
    expect(Math.abs(jittered.median - base.median - 20) / 20, `RTT ${jittered.median} ms`).toBeLessThanOrEqual(0.05);
    expect(Math.abs(jittered.sigma - 5) / 5, `RTT spread ${jittered.sigma.toFixed(3)} ms`).toBeLessThanOrEqual(0.1);

    await ok('lab', 'link', 'set', '--name', 'imp', 'n1:eth1', '--clear');
    expect((await rtts(20, '0.01')).median).toBeLessThan(2);
  });

  it('sends the configured share twice, and sends the configured share of a delayed link at once (reorder), within 3 standard errors', async () => {
    const sent = 2000;
    const within3Se = (measured: number, p: number): void => {
      const bound = 300 * Math.sqrt((p * (1 - p)) / sent);
      expect(Math.abs(measured - 100 * p), `measured ${measured.toFixed(2)}%`).toBeLessThanOrEqual(bound);
    };
    await ok('lab', 'link', 'set', '--name', 'imp', 'n1:eth1', '--clear', '--duplicate', '5%');
    const dup = await inNode('n1', 'ping', ['-q', '-c', String(sent), '-i', '0.002', '10.200.0.2'], 120_000);
    within3Se((100 * Number(/\+(\d+) duplicates/u.exec(dup)?.[1] ?? 0)) / sent, 0.05);

    await ok('lab', 'link', 'set', '--name', 'imp', 'n1:eth1', '--clear', '--delay', '20ms', '--reorder', '25%');
    const lines = await inNode('n1', 'ping', ['-c', String(sent), '-i', '0.002', '10.200.0.2'], 120_000);
    const times = [...lines.matchAll(/time=([\d.]+) ms/gu)].map((m) => Number(m[1]));
    expect(times.length).toBe(sent);
    within3Se((100 * times.filter((t) => t < 10).length) / sent, 0.25);
    await ok('lab', 'link', 'set', '--name', 'imp', 'n1:eth1', '--clear');
  });

  it('loses in bursts as a Gilbert-Elliott chain says: the long-run share and the mean burst within 3 standard errors', async () => {
    await ok('lab', 'link', 'set', '--name', 'imp', 'n1:eth1', '--clear', '--loss-model', '1%,10%');
    expect((await ends()).find((e) => e.endpoint === 'n1:eth1')!.impairment).toBe('loss gemodel p 1% r 10% bad 100% good 0%');
    const sent = 14000;
    const out = await inNode('n1', 'ping', ['-c', String(sent), '-i', '0.001', '-W', '0.2', '10.200.0.2'], 120_000).catch(
      (err: { stdout?: string }) => err.stdout ?? '',
    );
    const got = new Set([...out.matchAll(/icmp_seq=(\d+)/gu)].map((m) => Number(m[1])));
    const bursts: number[] = [];
    let run = 0;
    for (let seq = 1; seq <= sent + 1; seq++) {
      if (seq <= sent && !got.has(seq)) {
        run++;
      } else if (run) {
        bursts.push(run);
        run = 0;
      }
    }
    const [p, r] = [0.01, 0.1];
    const loss = (sent - got.size) / sent;
    // Losses come in runs, so they are not independent: the variance grows by (1 + lambda) / (1 - lambda), lambda = 1 - p - r.
    const lambda = 1 - p - r;
    const expected = p / (p + r);
    const lossBound = 3 * Math.sqrt(((expected * (1 - expected)) / sent) * ((1 + lambda) / (1 - lambda)));
    expect(Math.abs(loss - expected), `loss ${(100 * loss).toFixed(2)}%`).toBeLessThanOrEqual(lossBound);
    const meanBurst = bursts.reduce((a, b) => a + b, 0) / bursts.length;
    const burstBound = (3 * Math.sqrt(1 - r)) / r / Math.sqrt(bursts.length); // runs are geometric, mean 1/r
    expect(Math.abs(meanBurst - 1 / r), `mean burst ${meanBurst.toFixed(2)} over ${bursts.length}`).toBeLessThanOrEqual(burstBound);
    await ok('lab', 'link', 'set', '--name', 'imp', 'n1:eth1', '--clear');
  });

  it('flips a bit of the configured share of the packets, which the receiver finds wrong: within 3 standard errors', async () => {
    await ok('lab', 'link', 'set', '--name', 'imp', 'n1:eth1', '--clear', '--corrupt', '5%');
    const errors = async (): Promise<number> => {
      const snmp = (await inNode('n2', 'cat', ['/proc/net/snmp'])).split('\n');
      const field = (proto: string, name: string): number => {
        const [head, values] = snmp.filter((l) => l.startsWith(`${proto}:`)).map((l) => l.split(/\s+/u));
        return Number(values![head!.indexOf(name)]);
      };
      return field('Ip', 'InHdrErrors') + field('Ip', 'InAddrErrors') + field('Icmp', 'InCsumErrors');
    };
    const before = await errors();
    const sent = 10000;
    const size = 1000; // ICMP payload: a 1,042-byte frame
    try {
      const out = await inNode('n1', 'ping', ['-f', '-q', '-c', String(sent), '-s', String(size), '10.200.0.2'], 120_000).catch(
        (err: { stdout?: string }) => err.stdout ?? '',
      );
      const received = Number(/(\d+) received/u.exec(out)?.[1]);
      const lost = sent - received;
      // A flip in the source MAC address (6 of the frame's bytes) harms nothing; every other flip fails a check.
      const frame = size + 8 + 20 + 14;
      const p = 0.05 * (1 - 6 / frame);
      expect(Math.abs(lost / sent - p), `lost ${((100 * lost) / sent).toFixed(2)}%`).toBeLessThanOrEqual(3 * Math.sqrt((p * (1 - p)) / sent));
      // They arrived, and the receiver's checks found them wrong (a flip in the destination MAC address is dropped before IP).
      expect(await errors()).toBeGreaterThanOrEqual(before + lost * 0.95);
    } finally {
      // Cleared whatever the outcome, so that a failure here does not become the next test's.
      await ok('lab', 'link', 'set', '--name', 'imp', 'n1:eth1', '--clear');
    }
  });

  it('takes an end down (all it sends is lost) and up again; refuses a bad value by name and changes nothing', async () => {
    const ping = (): Promise<boolean> =>
      inNode('n1', 'ping', ['-c', '1', '-W', '1', '10.200.0.2']).then(
        () => true,
        () => false,
      );
    await ok('lab', 'link', 'down', '--name', 'imp', 'n1:eth1');
    expect((await ends()).find((e) => e.endpoint === 'n1:eth1')).toMatchObject({ up: false, impairment: 'down' });
    expect(await ping()).toBe(false);
    await ok('lab', 'link', 'up', '--name', 'imp', 'n1:eth1');
    let back = false;
    for (let i = 0; i < 20 && !back; i++) back = await ping(); // the peer sees carrier again, then ARP is not needed
    expect(back).toBe(true);

    const before = await ends();
    const corrupt = await tsnet(env.d, 'lab', 'link', 'set', '--name', 'imp', 'n1:eth1', '--corrupt', '150%', '--rate', '1mbit');
    expect(corrupt.code).not.toBe(0);
    expect(corrupt.stderr).toContain('n1:eth1: invalid corrupt "150%"');
    expect(await ends()).toEqual(before);
    expect((await tsnet(env.d, 'lab', 'link', 'set', '--name', 'imp', 'n9:eth1', '--loss', '1%')).stderr).toContain('lab "imp" has no link on n9:eth1');
  });

  it('keeps a delay across a daemon restart (its relay goes on), switches to a new relay on a change (the old one drains and ends), and ends it with the lab', async () => {
    await ok('lab', 'link', 'set', '--name', 'imp', 'n1:eth1', '--clear', '--delay', '20ms');
    const relay = (): Promise<number | undefined> => ends().then((e) => e.find((x) => x.endpoint === 'n1:eth1')!.relayPid);
    const first = (await relay())!;
    expect(alive(first)).toBe(true);
    await env.d.stop();
    env.d = await startDaemon(env.lab, 'daemon', ['--bridge', 'none']);
    expect(await relay()).toBe(first);
    expect((await rtts(20, '0.01')).min).toBeGreaterThan(19);
    await ok('lab', 'link', 'set', '--name', 'imp', 'n1:eth1', '--delay', '5ms');
    const second = (await relay())!;
    expect(second).not.toBe(first);
    // The old relay sends what it held, then ends.
    for (let i = 0; i < 40 && alive(first); i++) await new Promise((r) => setTimeout(r, 50));
    expect(alive(first)).toBe(false);
    expect((await rtts(20, '0.01')).median).toBeLessThan(10);
    await ok('lab', 'destroy', '--name', 'imp');
    for (let i = 0; i < 40 && alive(second); i++) await new Promise((r) => setTimeout(r, 50));
    expect(alive(second)).toBe(false);
  });

  it('runs scheduled events on time: a link down at 2 s, up at 3 s and a delay at 3.5 s, each landing when the daemon says, as the packets show', async () => {
    const file = join(env.lab.dir, 'sched.clab.yml');
    writeFileSync(file, TOPOLOGY.replace('name: imp', 'name: sched'));
    writeFileSync(
      join(env.lab.dir, 'sched.tsnet.yml'),
      COMPANION.replace('impair: { loss: 5% } ', '').replace(/10\.200\./gu, '10.201.') +
        'events:\n  - { at: 2s, endpoint: "n1:eth1", state: down }\n  - { at: 3s, endpoint: "n1:eth1", state: up }\n  - { at: 3500ms, endpoint: "n1:eth1", set: { delay: 20ms } }\n',
    );
    await ok('lab', 'deploy', '-t', file, '--events');
    // The schedule starts when the deploy ends; the first event is 2 s later, so that the probes (started after a CLI
    // call, slow on a loaded machine) are under way before it.
    const sandbox = (await ok('inspect', '-f', '{{.NetworkSettings.SandboxID}}', 'clab-sched-n1')).trim();
    const ping = ['ping', '-D', '-c', '900', '-i', '0.005', '-W', '0.1', '10.201.0.2'];
    const out = (
      await execFileAsync('nsenter', [`--net=${join(env.lab.dir, 'daemon-netns', sandbox)}`, '--', ...ping], { timeout: 60_000 }).catch(
        (err: { stdout?: string }) => ({ stdout: err.stdout ?? '' }),
      )
    ).stdout;
    const schedule = JSON.parse(await ok('lab', 'events', '--name', 'sched', '--format', 'json')) as {
      startedAt: string;
      events: { at: number; lateMs?: number; error?: string }[];
    };
    // The target is 10 ms, and a quiet machine meets it (2-7 ms measured). The suite runs test files side by side on
    // 2 cores: with three busy loops beside it, 14 of 15 events landed within 10 ms and the latest at 19 ms (the
    // daemon raises its priority while an event is due; without that, 8 of 15 and 27 ms). The bound is that load's.
    const LATE = 25;
    const [down, up, delay] = schedule.events;
    expect(down!.lateMs, down!.error).toBeLessThanOrEqual(LATE);
    expect(up!.lateMs, up!.error).toBeLessThanOrEqual(LATE);
    expect(delay!.lateMs, delay!.error).toBeLessThanOrEqual(LATE); // its relay was started ahead; the switch landed at 2.5 s
    // Each reply: when it was sent (its arrival less its RTT), in ms from the schedule's start.
    const start = Date.parse(schedule.startedAt);
    const sent = [...out.matchAll(/^\[(\d+\.\d+)\].*time=([\d.]+) ms/gmu)].map((m) => Number(m[1]) * 1000 - Number(m[2]) - start);
    // Nothing sent while the link was down got through: replies from before 2 s (+ the bound, + one interval, + the clocks' ms) and after 3 s.
    const during = sent.filter((t) => t > 2000 + LATE + 5 + 2 && t < 3000 - 2);
    expect(during).toEqual([]);
    expect(sent.some((t) => t > 1900 && t < 2000)).toBe(true);
    expect(sent.some((t) => t > 3000 && t < 3000 + LATE + 5 + 2)).toBe(true);
    // The delay from 3.5 s: replies of packets sent after 3.5 s + the bound (+ an interval, + the clocks) took 20 ms more.
    const replies = [...out.matchAll(/^\[(\d+\.\d+)\].*time=([\d.]+) ms/gmu)].map((m) => ({
      sent: Number(m[1]) * 1000 - Number(m[2]) - start,
      rtt: Number(m[2]),
    }));
    expect(replies.filter((r) => r.sent > 3500 + LATE + 5 + 2).every((r) => r.rtt > 19)).toBe(true);
    // Before it, none took the delay: each under half of it (a loaded run had a reply of 5 ms or more, undelayed).
    const early = replies.filter((r) => r.sent > 3100 && r.sent < 3500 - 2);
    expect(early.filter((r) => r.rtt >= 10)).toEqual([]);
    await ok('lab', 'destroy', '--name', 'sched');
  });

  it('lab run: deploys, measures its experiments, writes the report, destroys, and exits 0, 1 or 2 as the report says', async () => {
    const file = join(env.lab.dir, 'exp.clab.yml');
    writeFileSync(file, TOPOLOGY.replace('name: imp', 'name: exp'));
    const companion = (experiments: string): string =>
      COMPANION.replace('impair: { loss: 5% }', 'impair: { delay: 10ms }').replace(/10\.200\./gu, '10.202.') + `experiments:\n${experiments}`;
    const rtt =
      '  - { name: rtt, ping: { from: n1, to: 10.202.0.2, count: 100, interval: 10ms }, expect: { rtt_ms: { p95: { max: 50 }, p50: { min: 9 } }, loss_pct: { mean: { max: 1 } } } }\n';
    const run = async (
      experiments: string,
    ): Promise<{
      code: number;
      report: {
        status: string;
        exitCode: number;
        experiments: {
          name: string;
          error?: string;
          metrics: Record<string, { samples: unknown[]; summary: Record<string, number> }>;
          assertions: { pass: boolean }[];
        }[];
      };
    }> => {
      writeFileSync(join(env.lab.dir, 'exp.tsnet.yml'), companion(experiments));
      const r = await tsnet(env.d, 'lab', 'run', '-t', file, '--out', join(env.lab.dir, 'exp-out'));
      return { code: r.code, report: JSON.parse(readFileSync(join(env.lab.dir, 'exp-out', 'report.json'), 'utf8')) as never };
    };

    const passed = await run(rtt);
    expect(passed.code).toBe(0);
    expect(passed.report).toMatchObject({ status: 'passed', exitCode: 0 });
    const rttMetrics = passed.report.experiments[0]!.metrics;
    expect(rttMetrics['rtt_ms']!.samples.length).toBe(100);
    expect(rttMetrics['rtt_ms']!.summary['p50']).toBeGreaterThan(9);
    expect(passed.report.experiments[0]!.assertions.every((a) => a.pass)).toBe(true);
    expect((await ok('lab', 'ls')).includes('exp')).toBe(false); // destroyed

    const failed = await run(`${rtt}  - { name: tight, ping: { from: n1, to: 10.202.0.2, count: 20 }, expect: { rtt_ms: { p50: { max: 5 } } } }\n`);
    expect(failed.code).toBe(1);
    expect(failed.report.status).toBe('failed');
    expect(failed.report.experiments[1]!.assertions[0]).toMatchObject({ pass: false });

    const broken = await run('  - { name: nowhere, iperf3: { from: n1, to: n2, address: 10.202.0.1, seconds: 1 } }\n');
    expect(broken.code).toBe(2);
    expect(broken.report.status).toBe('error');
    expect(broken.report.experiments[0]!.error).toBeTruthy();
  });

  it('lab doctor says what this kernel can apply and how', async () => {
    const support = JSON.parse(await ok('lab', 'doctor', '--format', 'json')) as { impairment: string; supported: boolean; engine: string }[];
    expect(support.find((s) => s.impairment === 'loss')).toMatchObject({ supported: true });
    expect(support.find((s) => s.impairment === 'rate, burst')).toMatchObject({ supported: true, engine: 'kernel: tbf qdisc on the end' });
    expect(support.find((s) => s.impairment === 'delay, jitter, duplicate, reorder, corrupt, loss-model')).toMatchObject({ supported: true });
  });
});
