/**
 * `npm run bench -- lab [--json] [--runs N]`: linear labs of 10, 25 and 50 nodes (node i linked to node i+1, an
 * address on each end, two routes a node so that the first pings the last), deployed from the CLI until that ping
 * succeeds, then destroyed, each timed as a user sees it; the daemon's memory with the 50-node lab up. In the same
 * run, Mininet's `--topo linear,N` with Linux-bridge switches and no controller, through its Python API, when
 * Debian's mininet package is installed.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { busyboxRootfsTar } from '../src/runtime/busybox.js';
import { NetnsDirectory } from '../src/netns/netns.js';
import { inThrowawayLab, parseBenchArgs } from './args.js';
import { measureLabFloor, type LabFloor } from './lab-floor.js';
import { median, round, table, timeMs } from './stats.js';
import { startBenchDaemon, type BenchDaemon } from './tsnetd.js';

const parseArgs = (argv: string[]) => parseBenchArgs(argv, { runs: { default: 3, min: 1, max: 20 } });
const SIZES = [10, 25, 50] as const;

/** The linear lab of n nodes: its containerlab file and tsnet's companion file. */
export function linearLab(n: number): { topology: string; companion: string; last: string } {
  const nodes = Array.from({ length: n }, (_, i) => `    n${i + 1}: { kind: linux, image: busybox, network-mode: none, sysctls: { net.ipv4.ip_forward: 1 } }`);
  const links = Array.from({ length: n - 1 }, (_, i) => `    - endpoints: ["n${i + 1}:eth2", "n${i + 2}:eth1"]`);
  const companion = ['nodes:'];
  for (let i = 1; i <= n; i++) {
    const ifs = [...(i > 1 ? [`eth1: { addresses: [10.100.${i - 1}.2/30] }`] : []), ...(i < n ? [`eth2: { addresses: [10.100.${i}.1/30] }`] : [])];
    // Forward: everything of the lab through the next node; back: the first link through the previous one.
    const routes = [...(i < n ? [`{ dst: 10.100.0.0/16, via: 10.100.${i}.2 }`] : []), ...(i > 2 ? [`{ dst: 10.100.1.0/30, via: 10.100.${i - 1}.1 }`] : [])];
    companion.push(`  n${i}:`, `    interfaces: { ${ifs.join(', ')} }`, ...(routes.length ? [`    routes: [${routes.join(', ')}]`] : []));
  }
  return {
    topology: [`name: linear${n}`, 'topology:', '  nodes:', ...nodes, '  links:', ...links, ''].join('\n'),
    companion: `${companion.join('\n')}\n`,
    last: `10.100.${n - 1}.2`,
  };
}

interface Run {
  upMs: number;
  deployMs: number;
  downMs: number;
  /** The daemon's own account of the deploy: nodes, links, configure, exec. */
  phases?: Record<string, number>;
}

/** One deploy until the first node pings the last, then a destroy, from the CLI. */
async function tsnetRun(state: string, cli: BenchDaemon['cli'], n: number): Promise<Run> {
  const lab = linearLab(n);
  const file = join(state, `linear${n}.clab.yml`);
  writeFileSync(file, lab.topology);
  writeFileSync(join(state, `linear${n}.tsnet.yml`), lab.companion);
  const start = process.hrtime.bigint();
  const deployed = JSON.parse(await cli('lab', 'deploy', '-t', file, '--format', 'json')) as { timings?: Record<string, number> };
  const deployMs = Number(process.hrtime.bigint() - start) / 1e6;
  for (let i = 0; ; i++) {
    const ok = await cli('lab', 'exec', '--name', `linear${n}`, 'n1', '--', 'ping', '-c', '1', '-W', '1', lab.last).then(
      () => true,
      () => false,
    );
    if (ok) break;
    if (i > 20) throw new Error(`linear${n}: the first node never reached the last`);
  }
  const upMs = Number(process.hrtime.bigint() - start) / 1e6;
  const downMs = await timeMs(() => cli('lab', 'destroy', '--name', `linear${n}`));
  return { upMs, deployMs, downMs, ...(deployed.timings ? { phases: deployed.timings } : {}) };
}

const MININET = `
import json, sys, time
from mininet.net import Mininet
from mininet.topo import LinearTopo
from mininet.nodelib import LinuxBridge
from mininet.log import setLogLevel
setLogLevel('error')
n = int(sys.argv[1])
t0 = time.monotonic()
net = Mininet(topo=LinearTopo(k=n, n=1), switch=LinuxBridge, controller=None, autoSetMacs=True)
net.start()
h1, hn = net.get('h1'), net.get('h%d' % n)
while net.ping([h1, hn], timeout=1) > 0:
    pass
up = time.monotonic() - t0
t1 = time.monotonic()
net.stop()
print(json.dumps({'upMs': up * 1000, 'downMs': (time.monotonic() - t1) * 1000}))
`;

const PYTHON = '/usr/bin/python3'; // Debian's, where its mininet package is
const mininetInstalled = (): boolean => spawnSync(PYTHON, ['-c', 'import mininet.net'], { stdio: 'ignore' }).status === 0;

/**
 * One Mininet run in a fresh namespace of its own, removed after it: its switches, its sysctls (`fixLimits`) and
 * what its teardown leaves to the kernel stay out of the namespace where tsnet's daemon runs.
 */
function mininetRun(dir: NetnsDirectory, n: number, run: number): Run {
  const name = `mininet-${n}-${run}`;
  const ns = dir.create(name);
  try {
    const r = spawnSync('nsenter', [`--net=${ns.path!}`, '--', PYTHON, '-c', MININET, String(n)], { encoding: 'utf8', timeout: 300_000 });
    if (r.status !== 0) throw new Error(`mininet linear,${n}: ${r.stderr.trim().split('\n').slice(-3).join(' ')}`);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { upMs: number; downMs: number };
    return { upMs: out.upMs, deployMs: out.upMs, downMs: out.downMs };
  } finally {
    dir.delete(name);
  }
}

const rssMb = (pid: number): number => Number(/VmRSS:\s+(\d+)/u.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

async function measure(opts: ReturnType<typeof parseArgs>, state: string): Promise<void> {
  const progress = (text: string): void => {
    if (!opts.json && process.stderr.isTTY) process.stderr.write(`\r${text}`.padEnd(60));
  };
  const tsnetd = await startBenchDaemon(state, ['--bridge', 'none']);
  const results: Record<string, { tsnet: Run[]; mininet: Run[] }> = {};
  let memory = { idleMb: 0, with50Mb: 0 };
  try {
    const rootfs = await busyboxRootfsTar(state);
    await tsnetd.cli('image', 'import', rootfs, 'busybox');
    memory.idleMb = round(rssMb(tsnetd.child.pid!), 1);
    const mininet = mininetInstalled();
    const mininetSpaces = new NetnsDirectory(join(state, 'mininet-netns'));
    for (const n of SIZES) {
      results[n] = { tsnet: [], mininet: [] };
      for (let r = 0; r < opts.runs; r++) {
        progress(`linear ${n}: run ${r + 1}/${opts.runs}`);
        results[n]!.tsnet.push(await tsnetRun(state, tsnetd.cli, n));
        if (mininet) results[n]!.mininet.push(mininetRun(mininetSpaces, n, r));
      }
    }
    // The daemon's memory with the 50-node lab up.
    const lab = linearLab(50);
    writeFileSync(join(state, 'mem.clab.yml'), lab.topology.replace('name: linear50', 'name: mem'));
    writeFileSync(join(state, 'mem.tsnet.yml'), lab.companion);
    await tsnetd.cli('lab', 'deploy', '-t', join(state, 'mem.clab.yml'));
    memory = { ...memory, with50Mb: round(rssMb(tsnetd.child.pid!), 1) };
    await tsnetd.cli('lab', 'destroy', '--name', 'mem');
    progress('the floor: Node and CLI starts, 50 containers by the runtime alone');
    const floor = await measureLabFloor(state, rootfs, opts.runs);
    progress('');
    report(opts, results, memory, mininet, floor);
  } finally {
    await tsnetd.stop();
  }
}

function report(
  opts: ReturnType<typeof parseArgs>,
  results: Record<string, { tsnet: Run[]; mininet: Run[] }>,
  memory: object,
  mininet: boolean,
  floor: LabFloor,
): void {
  const m = (runs: Run[], k: 'upMs' | 'deployMs' | 'downMs'): number => round(median(runs.map((r) => r[k])), 1);
  const sizes = Object.fromEntries(
    Object.entries(results).map(([n, r]) => [
      n,
      {
        tsnet: {
          upMs: m(r.tsnet, 'upMs'),
          deployMs: m(r.tsnet, 'deployMs'),
          downMs: m(r.tsnet, 'downMs'),
          phasesMs: Object.fromEntries(
            ['check', 'nodes', 'links', 'configure', 'exec', 'record']
              .flatMap((p) => [p, `${p}.cpu`])
              .map((k) => [k, round(median(r.tsnet.map((x) => x.phases?.[k] ?? 0)), 1)]),
          ),
        },
        ...(mininet ? { mininet: { upMs: m(r.mininet, 'upMs'), downMs: m(r.mininet, 'downMs') } } : {}),
        ...(mininet
          ? { ratio: { up: round(m(r.mininet, 'upMs') / m(r.tsnet, 'upMs'), 2), down: round(m(r.mininet, 'downMs') / m(r.tsnet, 'downMs'), 2) } }
          : {}),
      },
    ]),
  );
  const result = {
    bench: 'lab',
    runs: opts.runs,
    sizes,
    memory,
    floor,
    ...(mininet ? {} : { skipped: ['mininet: not installed (apt-get install mininet) - no baseline in this run'] }),
    target: '50 nodes up <= 900 ms and down <= 500 ms; at least 2x Mininet up and 5x down',
  };
  if (opts.json) return void console.log(JSON.stringify(result));
  console.log(`linear labs, from the CLI, median of ${opts.runs} runs (up: deploy until the first node pings the last)\n`);
  console.log(
    table(
      ['nodes', 'tsnet up ms', 'tsnet deploy ms', 'tsnet down ms', 'mininet up ms', 'mininet down ms', 'up x', 'down x'],
      Object.entries(sizes).map(([n, s]) => {
        const mn = (s as { mininet?: { upMs: number; downMs: number }; ratio?: { up: number; down: number } }).mininet;
        const ratio = (s as { ratio?: { up: number; down: number } }).ratio;
        return [n, s.tsnet.upMs, s.tsnet.deployMs, s.tsnet.downMs, mn?.upMs ?? '-', mn?.downMs ?? '-', ratio?.up ?? '-', ratio?.down ?? '-'];
      }),
    ),
  );
  for (const [n, s] of Object.entries(sizes)) console.log(`${n} nodes, the daemon's phases of a deploy (ms): ${JSON.stringify(s.tsnet.phasesMs)}`);
  console.log(`\ndaemon memory: ${JSON.stringify(memory)} (MB of RSS)`);
  console.log(
    `the floor here (${floor.cores} cores): node -e 0 starts in ${floor.nodeStartMs} ms, the tsnet CLI in ${floor.cliStartMs} ms (up runs two); ` +
      `${floor.containers} containers started by the runtime alone, 16 at a time, take ${floor.runtimeStartMs} ms with the machine's CPU ${floor.cpuBusyPct}% busy`,
  );
  if (!mininet) console.log('mininet is not installed: no baseline in this run (apt-get install mininet)');
}

export async function main(argv: string[]): Promise<void> {
  const opts = parseArgs(argv);
  await inThrowawayLab((state) => measure(opts, state));
}
