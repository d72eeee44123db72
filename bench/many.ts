/**
 * `npm run bench -- many [--json] [--containers N]`: many containers at once through the daemon. N running
 * containers (busybox, on one bridge network) removed by one `tsnet rm -f` of all of them, then N more removed by N
 * concurrent API calls (as N scripts would send them), then N started and stopped by one `tsnet stop`. Prints each
 * wall time and the time per container; the target is N=100 removed by one command in at most 0.5 s.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TsnetClient } from '../src/client/client.js';
import { NetnsDirectory } from '../src/netns/netns.js';
import { Runtime } from '../src/runtime/runtime.js';
import { busyboxRootfsTar } from '../src/runtime/busybox.js';
import { mapLimit } from '../src/lib/map-limit.js';
import { inThrowawayLab, parseBenchArgs } from './args.js';
import { median, round, table, timeMs } from './stats.js';
import { CLI, nodeRunMs, startBenchDaemon, type BenchDaemon } from './tsnetd.js';

const parseArgs = (argv: string[]) => parseBenchArgs(argv, { containers: { default: 100, min: 2, max: 1000 } });

async function startMany(d: BenchDaemon, n: number, round: number): Promise<string[]> {
  return mapLimit(
    Array.from({ length: n }, (_, i) => i),
    8,
    (i) => d.cli('run', '-d', '--network', 'many', '--name', `m${round}-${i}`, 'busybox', 'sleep', '100000'),
  );
}

/** The daemon's resident memory now, from /proc. */
function daemonRssMb(d: BenchDaemon): number {
  const kb = /^VmRSS:\s+(\d+) kB$/mu.exec(readFileSync(`/proc/${d.child.pid}/status`, 'utf8'))?.[1];
  return round(Number(kb) / 1024, 1);
}

async function leftovers(d: BenchDaemon): Promise<void> {
  const left = await d.cli('ps', '-aq');
  if (left !== '') throw new Error(`containers left after removal: ${left.split('\n').length}`);
}

/**
 * The floor under a removal of many: the runtime alone (no daemon, no API, no network sandbox: one namespace each)
 * removing n running containers side by side (kill, their ends, cgroups, folders), and the CLI's start.
 */
async function measureFloor(state: string, tarball: string, n: number): Promise<{ runtimeRemoveMs: number; cliStartMs: number }> {
  const rt = Runtime.open(join(state, 'floor-runtime'));
  const dir = new NetnsDirectory(join(state, 'floor-netns'));
  try {
    await rt.images.import(tarball, 'busybox');
    const ids = await mapLimit(
      Array.from({ length: n }, (_, i) => i),
      8,
      async (i) => {
        const c = await rt.create({ image: 'busybox', command: ['sleep', '100000'], netnsPath: dir.create(`f${i}`).path! });
        await rt.start(c.id);
        return c.id;
      },
    );
    const runtimeRemoveMs = await timeMs(() => Promise.all(ids.map((id) => rt.remove(id, { force: true }))));
    const cliStarts = Array.from({ length: 5 }, () => nodeRunMs([CLI, '--help']));
    return { runtimeRemoveMs: round(runtimeRemoveMs, 1), cliStartMs: round(median(cliStarts), 1) };
  } finally {
    for (const c of rt.list()) await rt.remove(c.id, { force: true }).catch(() => undefined);
    for (const name of dir.list()) dir.delete(name, { ignoreMissing: true });
    rt.close();
  }
}

export interface ManyResult {
  readonly bench: 'many';
  readonly containers: number;
  readonly rmOneCommandMs: number;
  readonly rmConcurrentCallsMs: number;
  readonly stopOneCommandMs: number;
  readonly perContainerMs: { rmOneCommand: number; rmConcurrentCalls: number; stopOneCommand: number };
  readonly floor: { runtimeRemoveMs: number; cliStartMs: number };
  /**
   * The daemon's resident memory, idle (an image, a network) and with the containers running (each with its sandbox
   * and its endpoint), and what each container adds.
   */
  readonly daemonRss: { idleMb: number; withContainersMb: number; perContainerKb: number };
  readonly target: { rmOneCommandAtMostMs: number; met: boolean };
}

async function measure(d: BenchDaemon, state: string, n: number, progress: (s: string) => void): Promise<ManyResult> {
  const tarball = await busyboxRootfsTar(state);
  await d.cli('image', 'import', tarball, 'busybox');
  await d.cli('network', 'create', '--subnet', '10.90.0.0/16', 'many');
  const idleRssMb = daemonRssMb(d);
  progress(`starting ${n} containers`);
  const first = await startMany(d, n, 1);
  const withContainersMb = daemonRssMb(d);
  const daemonRss = { idleMb: idleRssMb, withContainersMb, perContainerKb: round(((withContainersMb - idleRssMb) * 1024) / n, 1) };
  progress(`removing ${n} containers with one rm -f`);
  const rmOne = await timeMs(() => d.cli('rm', '-f', ...first));
  await leftovers(d);
  progress(`starting ${n} containers`);
  const second = await startMany(d, n, 2);
  progress(`removing ${n} containers with ${n} concurrent calls`);
  const client = new TsnetClient(`unix://${d.socket}`);
  const rmCalls = await timeMs(() => Promise.all(second.map((id) => client.call('DELETE', `/v1/containers/${id}?force=true`))));
  await leftovers(d);
  progress(`starting ${n} containers`);
  const third = await startMany(d, n, 3);
  progress(`stopping ${n} containers with one stop`);
  const stop = await timeMs(() => d.cli('stop', '-t', '0', ...third));
  await d.cli('rm', ...third);
  await leftovers(d);
  progress(`the floor: the runtime alone removing ${n} containers`);
  const floor = await measureFloor(state, tarball, n);
  progress('');
  return {
    bench: 'many',
    containers: n,
    rmOneCommandMs: round(rmOne, 1),
    rmConcurrentCallsMs: round(rmCalls, 1),
    stopOneCommandMs: round(stop, 1),
    perContainerMs: { rmOneCommand: round(rmOne / n), rmConcurrentCalls: round(rmCalls / n), stopOneCommand: round(stop / n) },
    floor,
    daemonRss,
    // 0.5 s for 100 containers: 5 ms each, whatever --containers says.
    target: { rmOneCommandAtMostMs: 5 * n, met: rmOne <= 5 * n },
  };
}

export async function main(argv: string[]): Promise<void> {
  const opts = parseArgs(argv);
  const progress = (s: string): void => {
    if (!opts.json && process.stderr.isTTY) process.stderr.write(`\r${s}`.padEnd(60) + (s ? '' : '\r'));
  };
  await inThrowawayLab(async (state) => {
    const d = await startBenchDaemon(state);
    try {
      const r = await measure(d, state, opts.containers, progress);
      if (opts.json) console.log(JSON.stringify(r));
      else {
        console.log(
          table(
            ['what', 'containers', 'wall ms', 'per container ms'],
            [
              ['rm -f, one command', r.containers, r.rmOneCommandMs, r.perContainerMs.rmOneCommand],
              ['DELETE ?force=true, concurrent calls', r.containers, r.rmConcurrentCallsMs, r.perContainerMs.rmConcurrentCalls],
              ['stop -t 0, one command', r.containers, r.stopOneCommandMs, r.perContainerMs.stopOneCommand],
              ['floor: the runtime alone, side by side', r.containers, r.floor.runtimeRemoveMs, round(r.floor.runtimeRemoveMs / r.containers)],
              ["floor: the CLI's start", '', r.floor.cliStartMs, ''],
            ],
          ),
        );
        const rss = r.daemonRss;
        console.log(
          `\nthe daemon's memory (RSS): ${rss.idleMb} MB idle, ${rss.withContainersMb} MB with ${r.containers} containers running (${rss.perContainerKb} KB each, with its sandbox and endpoint)`,
        );
        console.log(
          `target: ${r.containers} containers removed by one rm -f in at most ${r.target.rmOneCommandAtMostMs} ms: ${r.target.met ? 'met' : 'NOT met'}`,
        );
      }
    } finally {
      await d.cli('rm', '-f', ...(await d.cli('ps', '-aq')).split('\n').filter(Boolean)).catch(() => undefined);
      await d.stop();
    }
  });
}
