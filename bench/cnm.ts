/**
 * `npm run bench -- cnm [--json] [--networks N] [--containers N]`: tsnet's CNM operations inside a throwaway
 * namespace: create 50 networks; attach 200 sandboxes to one network one after another, then 200 more 8 at a time;
 * tear everything down. In the same run, the same attach done by the CNI bridge plugin and by netavark, when their
 * Debian packages (containernetworking-plugins, netavark) are installed; the bench installs neither and says what
 * it skipped.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { openController } from '../src/daemon/network-wiring.js';
import { inThrowawayLab, parseBenchArgs } from './args.js';
import { NetnsDirectory } from '../src/netns/netns.js';
import { median, round, summarise, table, timeMs, type Summary } from './stats.js';

function parseArgs(argv: string[]) {
  return parseBenchArgs(argv, { networks: { default: 50, min: 1, max: 500 }, containers: { default: 200, min: 10, max: 1000 } });
}

const CNI_BIN = '/usr/lib/cni';
const NETAVARK_BIN = '/usr/lib/podman/netavark';

/** Time for each of n runs of one external command per container. */
function runTool(
  n: number,
  dir: NetnsDirectory,
  prefix: string,
  command: (ns: string, i: number) => { cmd: string; args: string[]; env?: NodeJS.ProcessEnv; input: string },
): number[] {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const ns = dir.create(`${prefix}${i}`);
    const c = command(ns.path!, i);
    const start = process.hrtime.bigint();
    const r = spawnSync(c.cmd, c.args, { input: c.input, env: { ...process.env, ...c.env }, encoding: 'utf8' });
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
    if (r.status !== 0) throw new Error(`${prefix} attach ${i} failed: ${r.stderr || r.stdout}`);
  }
  return samples;
}

function cniAttach(n: number, dir: NetnsDirectory, state: string): number[] {
  const config = JSON.stringify({
    cniVersion: '1.0.0',
    name: 'benchcni',
    type: 'bridge',
    bridge: 'cni-bench0',
    isGateway: true,
    ipMasq: true,
    ipam: { type: 'host-local', subnet: '10.91.0.0/16', dataDir: join(state, 'cni-ipam') },
  });
  return runTool(n, dir, 'cni', (ns, i) => ({
    cmd: join(CNI_BIN, 'bridge'),
    args: [],
    env: { CNI_COMMAND: 'ADD', CNI_CONTAINERID: `cni${i}`, CNI_NETNS: ns, CNI_IFNAME: 'eth0', CNI_PATH: CNI_BIN },
    input: config,
  }));
}

function netavarkAttach(n: number, dir: NetnsDirectory, state: string): number[] {
  const id = 'ab'.repeat(32);
  return runTool(n, dir, 'nv', (ns, i) => ({
    cmd: NETAVARK_BIN,
    args: ['--config', join(state, 'netavark'), 'setup', ns],
    env: { NETAVARK_FW: 'iptables' },
    input: JSON.stringify({
      container_id: `${i}`.padStart(64, '0'),
      container_name: `nv${i}`,
      networks: { benchnv: { interface_name: 'eth0', static_ips: [`10.92.${(i + 2) >> 8}.${(i + 2) & 255}`] } },
      network_info: {
        benchnv: {
          name: 'benchnv',
          id,
          driver: 'bridge',
          network_interface: 'nv-bench0',
          subnets: [{ subnet: '10.92.0.0/16', gateway: '10.92.0.1' }],
          ipv6_enabled: false,
          internal: false,
          dns_enabled: false,
          ipam_options: { driver: 'host-local' },
        },
      },
      port_mappings: [],
    }),
  }));
}

export async function main(argv: string[]): Promise<void> {
  const opts = parseArgs(argv);
  await inThrowawayLab((state) => measure(opts, state));
}

type Options = ReturnType<typeof parseArgs>;

interface CnmResult {
  readonly bench: 'cnm';
  readonly networks: number;
  readonly containers: number;
  readonly networkCreate: Summary;
  readonly networkDelete: Summary;
  readonly attachSequential: Summary;
  readonly attachConcurrent8: Summary & { wallMs: number; perAttachThroughputMs: number };
  readonly attachGrowth: { firstTenthMedianMs: number; lastTenthMedianMs: number; lastOverFirst: number };
  readonly teardown: { sandboxes: number; totalMs: number; perSandboxMs: number; netlinkSends: number };
  readonly cniBridge: Summary | null;
  readonly netavark: Summary | null;
  readonly ratio: { cniOverTsnet: number | null; netavarkOverTsnet: number | null };
  readonly skipped: string[];
}
type Progress = (text: string) => void;

/** tsnet's own operations: networks, attaches one and eight at a time, teardown. */
async function measureTsnet(opts: Options, state: string, progress: Progress) {
  const { controller: ctl } = await openController({ root: join(state, 'tsnet'), netnsDir: '/run/netns/tsnet' });

  // Networks.
  const netCreate: number[] = [];
  for (let i = 0; i < opts.networks; i++) {
    netCreate.push(await timeMs(() => ctl.createNetwork({ name: `n${i}`, subnet: `10.${100 + (i >> 8)}.${i & 255}.0/24` })));
    progress(`networks: ${i + 1}/${opts.networks}`);
  }
  const big = await ctl.createNetwork({ name: 'big', subnet: '10.90.0.0/16' });

  // Attach, sequential.
  const sequential: number[] = [];
  const boxes: string[] = [];
  for (let i = 0; i < opts.containers; i++) {
    const s = await ctl.createSandbox({ containerId: `seq${i}` });
    boxes.push(s.id);
    sequential.push(await timeMs(() => ctl.connect(big.id, s.id)));
    if (i % 20 === 0) progress(`attach, one at a time: ${i + 1}/${opts.containers}`);
  }
  // Attach, 8 at a time.
  const concurrent: number[] = [];
  let concurrentWallMs = 0;
  for (let i = 0; i < opts.containers; i += 8) {
    const batch = await Promise.all(Array.from({ length: Math.min(8, opts.containers - i) }, (_, j) => ctl.createSandbox({ containerId: `par${i + j}` })));
    boxes.push(...batch.map((s) => s.id));
    // Only the attaches are timed: 8 requests in flight at once, as 8 clients would send them.
    concurrentWallMs += await timeMs(async () => concurrent.push(...(await Promise.all(batch.map((s) => timeMs(() => ctl.connect(big.id, s.id)))))));
    if (i % 40 === 0) progress(`attach, 8 at a time: ${i + 8}/${opts.containers}`);
  }

  // Teardown: all sandboxes in one go (their veths in one request), then the networks.
  const kernelBefore = ctl.hostNetlinkStats().sends;
  const teardownSandboxesMs = await timeMs(() => ctl.deleteSandboxes(boxes));
  const teardownSends = ctl.hostNetlinkStats().sends - kernelBefore;
  const netDelete: number[] = [];
  for (const n of [...ctl.networks()]) netDelete.push(await timeMs(() => ctl.deleteNetwork(n.id)));
  await ctl.close();
  progress('');
  return { netCreate, netDelete, sequential, concurrent, concurrentWallMs, teardownSandboxesMs, teardownSends, boxes };
}

/** The same attach by CNI's bridge plugin and netavark, when installed, in the same run. */
function measureBaselines(opts: Options, state: string, progress: Progress) {
  const skipped: string[] = [];
  const baselineDir = new NetnsDirectory('/run/netns');
  let cni: number[] | undefined;
  let netavark: number[] | undefined;
  if (existsSync(join(CNI_BIN, 'bridge'))) {
    progress('CNI bridge plugin...');
    cni = cniAttach(opts.containers, baselineDir, state);
  } else skipped.push('CNI bridge plugin: not installed (apt-get install containernetworking-plugins)');
  if (existsSync(NETAVARK_BIN)) {
    progress('netavark...');
    netavark = netavarkAttach(opts.containers, baselineDir, state);
  } else skipped.push('netavark: not installed (apt-get install netavark)');
  progress('');
  return { cni, netavark, skipped };
}

async function measure(opts: Options, state: string): Promise<void> {
  const progress: Progress = (text) => {
    if (!opts.json && process.stderr.isTTY) process.stderr.write(`\r${text}`.padEnd(70));
  };
  const { netCreate, netDelete, sequential, concurrent, concurrentWallMs, teardownSandboxesMs, teardownSends, boxes } = await measureTsnet(
    opts,
    state,
    progress,
  );
  const { cni, netavark, skipped } = measureBaselines(opts, state, progress);
  const tenth = Math.max(1, Math.floor(opts.containers / 10));
  const attach = summarise(sequential);
  const ratio = (other: number[] | undefined): number | null => (other ? round(median(other) / attach.medianMs, 1) : null);
  const result: CnmResult = {
    bench: 'cnm',
    networks: opts.networks,
    containers: opts.containers,
    networkCreate: summarise(netCreate),
    networkDelete: summarise(netDelete),
    attachSequential: attach,
    attachConcurrent8: { ...summarise(concurrent), wallMs: round(concurrentWallMs), perAttachThroughputMs: round(concurrentWallMs / opts.containers) },
    attachGrowth: {
      firstTenthMedianMs: round(median(sequential.slice(0, tenth))),
      lastTenthMedianMs: round(median(sequential.slice(-tenth))),
      lastOverFirst: round(median(sequential.slice(-tenth)) / median(sequential.slice(0, tenth)), 2),
    },
    teardown: {
      sandboxes: boxes.length,
      totalMs: round(teardownSandboxesMs),
      perSandboxMs: round(teardownSandboxesMs / boxes.length),
      netlinkSends: teardownSends,
    },
    cniBridge: cni ? summarise(cni) : null,
    netavark: netavark ? summarise(netavark) : null,
    ratio: { cniOverTsnet: ratio(cni), netavarkOverTsnet: ratio(netavark) },
    skipped,
  };
  if (opts.json) console.log(JSON.stringify(result));
  else printReport(opts, result, tenth);
}

function printReport(opts: Options, result: CnmResult, tenth: number): void {
  const { skipped } = result;
  const attach = result.attachSequential;
  const row = (name: string, s: Summary | null): (string | number)[] => (s ? [name, s.count, s.medianMs, s.p95Ms] : [name, '-', 'skipped', '-']);
  console.log(`CNM operations, ${opts.networks} networks, ${opts.containers} containers per attach phase\n`);
  console.log(
    table(
      ['operation', 'count', 'median ms', 'p95 ms'],
      [
        row('network create', result.networkCreate),
        row('attach (tsnet), one at a time', attach),
        row('attach (tsnet), 8 at a time', result.attachConcurrent8),
        row('attach (CNI bridge plugin)', result.cniBridge),
        row('attach (netavark)', result.netavark),
        row('network delete', result.networkDelete),
      ],
    ),
  );
  console.log(`\nCNI / tsnet: ${result.ratio.cniOverTsnet ?? '-'}x; netavark / tsnet: ${result.ratio.netavarkOverTsnet ?? '-'}x (target: at least 20x)`);
  console.log(
    `attach, last ${tenth} vs first ${tenth}: ${result.attachGrowth.lastTenthMedianMs} ms vs ${result.attachGrowth.firstTenthMedianMs} ms (x${result.attachGrowth.lastOverFirst})`,
  );
  console.log(`8 at a time: ${result.attachConcurrent8.perAttachThroughputMs} ms per attach of wall time`);
  console.log(
    `teardown of ${result.teardown.sandboxes} sandboxes: ${result.teardown.totalMs} ms (${result.teardown.perSandboxMs} ms each, ${result.teardown.netlinkSends} netlink send(s) on the host)`,
  );
  for (const s of skipped) console.log(`skipped: ${s}`);
}
