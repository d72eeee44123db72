/**
 * The floor a lab deploy stands on here, measured in the lab bench's run: Node's own start and the tsnet CLI's
 * (two of them are in "up": the deploy and the probe), and 50 containers started by the runtime alone (no daemon,
 * no sandbox, no links: 50 namespaces, then create + start 16 at a time, as a lab's nodes are), with the share of
 * the machine's CPU they keep busy.
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { NetnsDirectory } from '../src/netns/netns.js';
import { Runtime } from '../src/runtime/runtime.js';
import { mapLimit } from '../src/lib/map-limit.js';
import { median, round } from './stats.js';
import { CLI, nodeRunMs } from './tsnetd.js';

export interface LabFloor {
  readonly nodeStartMs: number;
  readonly cliStartMs: number;
  readonly containers: number;
  readonly runtimeStartMs: number;
  /** Of the machine's CPU time (all cores) during those starts, the share busy. */
  readonly cpuBusyPct: number;
  readonly cores: number;
}

/** Busy and total CPU time of the machine so far (ms), from /proc/stat. */
function machineCpu(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/u).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0) * 10;
  return { busy: total - (f[3]! + f[4]!) * 10, total };
}

async function runtimeStarts(state: string, image: string, rt: Runtime, n: number, run: number): Promise<{ ms: number; busyPct: number }> {
  const dir = new NetnsDirectory(join(state, `floor-netns-${run}`));
  const nss = Array.from({ length: n }, (_, i) => dir.create(`f${i}`));
  const ids: string[] = [];
  const c0 = machineCpu();
  const t0 = process.hrtime.bigint();
  try {
    // As a deploy starts its nodes: 16 at once, in a sliding window.
    await mapLimit(nss, 16, async (ns) => {
      const c = await rt.create({ image, command: ['sleep', '1000'], netnsPath: ns.path! });
      ids.push(c.id);
      await rt.start(c.id);
    });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const c1 = machineCpu();
    return { ms, busyPct: (100 * (c1.busy - c0.busy)) / Math.max(1, c1.total - c0.total) };
  } finally {
    for (const id of ids) await rt.remove(id, { force: true });
    for (let i = 0; i < n; i++) dir.delete(`f${i}`, { ignoreMissing: true });
  }
}

export async function measureLabFloor(state: string, image: string, runs: number): Promise<LabFloor> {
  const nodeStarts = Array.from({ length: 5 }, () => nodeRunMs(['-e', '0']));
  const cliStarts = Array.from({ length: 5 }, () => nodeRunMs([CLI, '--help']));
  const rt = Runtime.open(join(state, 'floor-runtime'));
  try {
    await rt.images.import(image, 'busybox');
    const samples = [];
    for (let r = 0; r < runs; r++) samples.push(await runtimeStarts(state, 'busybox', rt, 50, r));
    return {
      nodeStartMs: round(median(nodeStarts), 1),
      cliStartMs: round(median(cliStarts), 1),
      containers: 50,
      runtimeStartMs: round(median(samples.map((s) => s.ms)), 1),
      cpuBusyPct: round(median(samples.map((s) => s.busyPct)), 0),
      cores: cpus().length,
    };
  } finally {
    rt.close();
  }
}
