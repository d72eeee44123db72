/**
 * `npm run bench -- impair [--json]`: the fidelity of lab link impairments with real packets between two lab nodes:
 * random loss over 14,000 probes, and a 10 Mbit/s rate with TCP and UDP (iperf3), each as configured, measured and
 * the error, with the bound the tests hold it to. In the same run, Mininet's TCLink with the same parameters (Linux
 * bridge, no controller) when Debian's mininet is installed: on a kernel without netem it applies no loss at all.
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
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
}

const TOPOLOGY =
  'name: impair\ntopology:\n  nodes:\n    n1: { kind: linux, image: busybox, network-mode: none }\n    n2: { kind: linux, image: busybox, network-mode: none }\n  links:\n    - endpoints: ["n1:eth1", "n2:eth1"]\n';
const COMPANION = `nodes:\n  n1:\n    interfaces:\n      eth1: { addresses: [10.201.0.1/30], impair: { loss: ${LOSS}% } }\n  n2:\n    interfaces:\n      eth1: { addresses: [10.201.0.2/30] }\n`;

/** Flood-ping loss (percent) and iperf3 goodputs, with commands run through `run(node, argv)`. */
async function measure(run: (node: 'a' | 'b', argv: string[]) => Promise<string>, target: string, setRate: () => Promise<void>): Promise<Figures> {
  const ping = await run('a', ['ping', '-f', '-c', String(PROBES), '-q', target]).catch((err: { stdout?: string }) => err.stdout ?? '');
  const m = /(\d+) packets transmitted, (\d+) received/u.exec(ping);
  const lossPct = m ? (100 * (Number(m[1]) - Number(m[2]))) / Number(m[1]) : NaN;
  await setRate();
  const iperf = async (args: string[]): Promise<number> => {
    const server = run('b', [IPERF3, '-s', '-1', '-B', target]);
    for (let i = 0; ; i++) {
      try {
        const r = JSON.parse(await run('a', [IPERF3, '-c', target, '-J', '-t', '5', ...args])) as {
          end: { sum_received?: { bits_per_second: number }; sum?: { bits_per_second: number } };
        };
        await server;
        return (r.end.sum_received ?? r.end.sum)!.bits_per_second / 1e6;
      } catch (err) {
        if (i > 30) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
  return { lossPct, tcpMbit: await iperf([]), udpMbit: await iperf(['-u', '-b', '20M', '-l', '1400']) };
}

async function tsnetFigures(state: string): Promise<Figures> {
  const d = await startBenchDaemon(state, ['--bridge', 'none']);
  try {
    await d.cli('image', 'import', await busyboxRootfsTar(state), 'busybox');
    writeFileSync(join(state, 'impair.clab.yml'), TOPOLOGY);
    writeFileSync(join(state, 'impair.tsnet.yml'), COMPANION);
    await d.cli('lab', 'deploy', '-t', join(state, 'impair.clab.yml'));
    const netns = async (node: string): Promise<string> =>
      join(state, 'netns', await d.cli('inspect', '-f', '{{.NetworkSettings.SandboxID}}', `clab-impair-${node}`));
    const ns = { a: await netns('n1'), b: await netns('n2') };
    const run = async (node: 'a' | 'b', argv: string[]): Promise<string> =>
      (await execFileAsync('nsenter', [`--net=${ns[node]}`, '--', ...argv], { timeout: 120_000 })).stdout;
    return await measure(run, '10.201.0.2', () =>
      d.cli('lab', 'link', 'set', '--name', 'impair', 'n1:eth1', '--rate', '10mbit', '--loss', '0').then(() => undefined),
    );
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
for l in net.links:
    if h1 in (l.intf1.node, l.intf2.node):
        l.intf1.config(bw=${RATE / 1e6}, loss=0)
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
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { ping: string; tcp: string; udp: string };
  const m = /(\d+) packets transmitted, (\d+) received/u.exec(out.ping);
  const bps = (text: string): number => {
    const j = JSON.parse(text.slice(text.indexOf('{'))) as { end: { sum_received?: { bits_per_second: number }; sum?: { bits_per_second: number } } };
    return (j.end.sum_received ?? j.end.sum)!.bits_per_second / 1e6;
  };
  return { lossPct: m ? (100 * (Number(m[1]) - Number(m[2]))) / Number(m[1]) : NaN, tcpMbit: bps(out.tcp), udpMbit: bps(out.udp) };
}

export async function main(argv: string[]): Promise<void> {
  const opts = parseBenchArgs(argv, {});
  if (!existsSync(IPERF3)) throw new Error('iperf3 is not installed: scripts/setup.sh installs it');
  await inThrowawayLab(async (state) => {
    const ts = await tsnetFigures(state);
    const mn = mininetFigures();
    const rows = [
      { what: `loss (${PROBES} probes)`, configured: LOSS, unit: '%', bound: round(LOSS_BOUND, 2), ts: ts.lossPct, mn: mn?.lossPct },
      {
        what: 'rate, TCP goodput',
        configured: round(TCP_EXPECTED / 1e6, 3),
        unit: 'Mbit/s',
        bound: round((TCP_EXPECTED / 1e6) * 0.05, 3),
        ts: ts.tcpMbit,
        mn: mn?.tcpMbit,
      },
      {
        what: 'rate, UDP goodput',
        configured: round(UDP_EXPECTED / 1e6, 3),
        unit: 'Mbit/s',
        bound: round((UDP_EXPECTED / 1e6) * 0.02, 3),
        ts: ts.udpMbit,
        mn: mn?.udpMbit,
      },
    ].map((r) => ({
      ...r,
      ts: round(r.ts, 3),
      tsError: round(r.ts - r.configured, 3),
      ...(r.mn !== undefined ? { mn: round(r.mn, 3), mnError: round(r.mn - r.configured, 3) } : {}),
    }));
    const result = {
      bench: 'impair',
      rows,
      delayEngine: 'not built: delay, jitter, corrupt, duplicate and reorder are refused (no netem on this kernel)',
      ...(mn ? {} : { skipped: ['mininet: not installed (apt-get install mininet)'] }),
    };
    if (opts.json) return console.log(JSON.stringify(result));
    console.log('lab link impairments, two lab nodes, real packets (rate: the expected goodput is the rate less the frame headers)\n');
    console.log(
      table(
        ['impairment', 'configured', 'unit', 'bound +/-', 'tsnet', 'tsnet error', 'mininet', 'mininet error'],
        rows.map((r) => [r.what, r.configured, r.unit, r.bound, r.ts, r.tsError, r.mn ?? '-', r.mnError ?? '-']),
      ),
    );
    console.log(`\ndelay engine: ${result.delayEngine}`);
  });
}
