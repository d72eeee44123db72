/**
 * `npm run bench -- cnm [--json] [--networks N] [--containers N]`: tsnet's CNM operations inside a throwaway
 * namespace: create 50 networks and delete them; attach 200 sandboxes to one network one after another and 200
 * to another 8 at a time, a round of 8 after every 8 single ones (so that both meet bridges of the same size and as
 * many namespaces); tear every sandbox down. The one-at-a-time attach is done in turn by tsnet, the CNI bridge
 * plugin and netavark (when their Debian packages, containernetworking-plugins and netavark, are installed; the
 * bench installs neither and says what it skipped), each in a fresh namespace of its own holding the same network,
 * so that none of them works among what another left behind; the baselines are started by a small runner process
 * (runner.ts), not forked from the bench's own, which holds tsnet's controller.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Controller } from '../src/cnm/controller.js';
import { openController, type FirewallBackend } from '../src/daemon/network-wiring.js';
import { inThrowawayLab, parseBenchArgs } from './args.js';
import { addrAddRequest } from '../src/netlink/addr.js';
import { requestUntilEcho } from '../src/netlink/echoed.js';
import { Handle } from '../src/netlink/handle.js';
import { linkDeleteRequest } from '../src/netlink/link.js';
import { NetNs, NetnsDirectory } from '../src/netns/netns.js';
import { floorEndpoint, floorHost, floorTeardown, type FloorHost } from './cnm-floor.js';
import { CommandRunner, type Command } from './runner.js';
import { median, round, settledMemory, summarise, table, timeMs, type Summary } from './stats.js';

function parseArgs(argv: string[]) {
  return parseBenchArgs(argv, { networks: { default: 50, min: 1, max: 500 }, containers: { default: 200, min: 10, max: 1000 } });
}

const CNI_BIN = '/usr/lib/cni';
const NETAVARK_BIN = '/usr/lib/podman/netavark';

/** One external command, started by the runner inside the contender's namespace (nsenter --net): its time in ms. */
function runIn(runner: CommandRunner, hostNsPath: string, what: string, c: Command): Promise<number> {
  return runner.run(what, { ...c, cmd: 'nsenter', args: [`--net=${hostNsPath}`, '--', c.cmd, ...c.args] });
}

/** CNI's bridge plugin attaching the sandbox at nsPath (its bridge and NAT made by its first attach). */
function cniAttach(runner: CommandRunner, hostNsPath: string, nsPath: string, i: number, state: string): Promise<number> {
  const config = JSON.stringify({
    cniVersion: '1.0.0',
    name: 'benchcni',
    type: 'bridge',
    bridge: 'cni-bench0',
    isGateway: true,
    ipMasq: true,
    ipam: { type: 'host-local', subnet: '10.90.0.0/16', dataDir: join(state, 'cni-ipam') },
  });
  return runIn(runner, hostNsPath, `CNI attach ${i}`, {
    cmd: join(CNI_BIN, 'bridge'),
    args: [],
    env: { CNI_COMMAND: 'ADD', CNI_CONTAINERID: `cni${i}`, CNI_NETNS: nsPath, CNI_IFNAME: 'eth0', CNI_PATH: CNI_BIN },
    input: config,
  });
}

/** netavark attaching the sandbox at nsPath, with the same network (its bridge and rules made by its first attach). */
function netavarkAttach(runner: CommandRunner, hostNsPath: string, nsPath: string, i: number, state: string): Promise<number> {
  return runIn(runner, hostNsPath, `netavark attach ${i}`, {
    cmd: NETAVARK_BIN,
    args: ['--config', join(state, 'netavark'), 'setup', nsPath],
    env: { NETAVARK_FW: 'iptables' },
    input: JSON.stringify({
      container_id: `${i}`.padStart(64, '0'),
      container_name: `nv${i}`,
      networks: { benchnv: { interface_name: 'eth0', static_ips: [`10.90.${(i + 2) >> 8}.${(i + 2) & 255}`] } },
      network_info: {
        benchnv: {
          name: 'benchnv',
          id: 'ab'.repeat(32),
          driver: 'bridge',
          network_interface: 'nv-bench0',
          subnets: [{ subnet: '10.90.0.0/16', gateway: '10.90.0.1' }],
          ipv6_enabled: false,
          internal: false,
          dns_enabled: false,
          ipam_options: { driver: 'host-local' },
        },
      },
      port_mappings: [],
    }),
  });
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
  /** With the nftables backend (targets: create at most 10 ms, delete at most 40 ms median); then with iptables. */
  readonly networkCreate: Summary;
  readonly networkDelete: Summary;
  readonly networkCreateIptables: Summary;
  readonly networkDeleteIptables: Summary;
  /** The kernel's own time to delete a bridge like a network's (up, with an address), through netlink. */
  readonly bridgeDeleteFloor: Summary;
  /** The same, until the kernel has taken the bridge out of its namespace (its echo), while it goes on freeing it. */
  readonly bridgeUnlistFloor: Summary;
  readonly attachSequential: Summary;
  /** Its mean: what 8 at a time's wall time per attach is, where the median is its target. */
  readonly attachSequentialMeanMs: number;
  /** The kernel's floor for the endpoint, made in turn with the attaches, and the attach over it (target: at most 2x). */
  readonly floor: Summary;
  readonly attachOverFloor: number;
  readonly attachConcurrent8: Summary & { wallMs: number; perAttachThroughputMs: number };
  readonly attachGrowth: { firstTenthMedianMs: number; lastTenthMedianMs: number; lastOverFirst: number };
  /** floorMs: the kernel's own time for as many sandboxes made alike (veth pairs in one request, namespaces released). */
  readonly teardown: { sandboxes: number; totalMs: number; perSandboxMs: number; netlinkSends: number; floorMs: number; overFloor: number };
  readonly cniBridge: Summary | null;
  readonly netavark: Summary | null;
  /** nsenter's own start, taken off each baseline's samples (they run through it, in their own namespace). */
  readonly nsenterMedianMs: number;
  /** The controller's process (the daemon's network side) before the attaches and with every endpoint. */
  /** RSS before and with every endpoint; the growth per endpoint is of what the JavaScript holds (see settledMemory). */
  readonly memory: { rssBeforeMb: number; rssWithAllMb: number; endpoints: number; growthPerEndpointKb: number };
  readonly ratio: { cniOverTsnet: number | null; netavarkOverTsnet: number | null };
  readonly skipped: string[];
}
type Progress = (text: string) => void;

/**
 * Network create and delete with each firewall backend, each in a fresh namespace of its own, taking turns
 * network by network.
 */
async function measureNetworks(opts: Options, state: string, progress: Progress) {
  const dir = new NetnsDirectory('/run/netns');
  const open = async (backend: FirewallBackend) => {
    const hostNs = NetNs.fromPath(freshHost(dir, `host-${backend}`));
    return (await openController({ root: join(state, `networks-${backend}`), netnsDir: `/run/netns/networks-${backend}`, hostNs, firewallBackend: backend }))
      .controller;
  };
  const contenders = { nftables: await open('nftables'), iptables: await open('iptables') };
  // The kernel's floor for a network's removal: a bare bridge (up, with its gateway address) deleted by index.
  const floor = Handle.open(NetNs.fromPath(freshHost(dir, 'host-bridges')));
  const create = { nftables: [] as number[], iptables: [] as number[] };
  const remove = { nftables: [] as number[], iptables: [] as number[], floor: [] as number[], floorUnlisted: [] as number[] };
  const order = (i: number): FirewallBackend[] => (i % 2 === 0 ? ['nftables', 'iptables'] : ['iptables', 'nftables']);
  const subnet = (i: number): string => `10.${100 + (i >> 8)}.${i & 255}`;
  const bridges: number[] = [];
  const floorBridge = async (name: string, i: number): Promise<number> => {
    const br = await floor.linkAdd({ kind: 'bridge', name });
    await floor.pipeline([addrAddRequest(br.index, `${subnet(i)}.1/24`, { broadcast: true, noDad: true })]);
    await floor.linkSet(br.index, { up: true });
    return br.index;
  };
  for (let i = 0; i < opts.networks; i++) {
    for (const b of order(i)) create[b].push(await timeMs(() => contenders[b].createNetwork({ name: `n${i}`, subnet: `${subnet(i)}.0/24` })));
    bridges.push(await floorBridge(`fl${i}`, i));
    progress(`networks: ${i + 1}/${opts.networks}`);
  }
  for (let i = 0; i < opts.networks; i++) {
    for (const b of order(i)) remove[b].push(await timeMs(() => contenders[b].deleteNetwork(`n${i}`)));
    remove.floor.push(await timeMs(() => floor.linkDelete(bridges[i]!)));
    // The same bridge, until the kernel has taken it out of the namespace (its echo): where tsnet's removal answers.
    const index = await floorBridge(`fl${i}`, i);
    let finished: Promise<void> = Promise.resolve();
    remove.floorUnlisted.push(await timeMs(async () => ({ finished } = await requestUntilEcho(floor.netns.nativePath, linkDeleteRequest(index), 30_000))));
    await finished;
  }
  for (const ctl of Object.values(contenders)) await ctl.close();
  floor.close();
  return { create, remove };
}

/** A contender's own host: a fresh namespace with lo up, holding nothing else before the contender starts. */
function freshHost(dir: NetnsDirectory, name: string): string {
  const ns = dir.create(name);
  const r = spawnSync('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  if (r.status !== 0) throw new Error(`cannot set lo up in ${name}`);
  return ns.path!;
}

interface AttachSamples {
  tsnet: number[];
  /** The kernel's floor for the endpoint alone (no IPAM, no store, no tag): what an attach cannot go under. */
  floor: number[];
  cni?: number[];
  netavark?: number[];
  /** nsenter's own start (nsenter -- true), paid by each baseline's run and taken off its figures. */
  nsenter: number[];
}

/**
 * Attach, one sandbox at a time, by tsnet, CNI's bridge plugin and netavark, each in a fresh namespace of its own
 * with one network of the same subnet (its bridge and NAT rules), taking turns in a rotating order; every sandbox
 * is made just before its attach, untimed.
 */
async function measureAttach(opts: Options, state: string, progress: Progress, skipped: string[]) {
  const dir = new NetnsDirectory('/run/netns');
  const hostTs = dir.create('host-tsnet');
  // What a reboot wipes on the namespace's /run (a tmpfs), as the daemon keeps it on its exec root.
  const { controller: ctl } = await openController({ root: join(state, 'tsnet'), runDir: '/run/tsnet-bench', netnsDir: '/run/netns/tsnet', hostNs: hostTs });
  const big = await ctl.createNetwork({ name: 'big', subnet: '10.90.0.0/16' });
  // The attaches 8 at a time go to a network of their own: each bridge holds as many ports as the floor's, as it grows.
  const big8 = await ctl.createNetwork({ name: 'big8', subnet: '10.91.0.0/16' });
  const hasCni = existsSync(join(CNI_BIN, 'bridge'));
  const hasNetavark = existsSync(NETAVARK_BIN);
  if (!hasCni) skipped.push('CNI bridge plugin: not installed (apt-get install containernetworking-plugins)');
  if (!hasNetavark) skipped.push('netavark: not installed (apt-get install netavark)');
  const cniHost = hasCni ? freshHost(dir, 'host-cni') : '';
  const nvHost = hasNetavark ? freshHost(dir, 'host-netavark') : '';
  const samples: AttachSamples = { tsnet: [], floor: [], nsenter: [], ...(hasCni ? { cni: [] } : {}), ...(hasNetavark ? { netavark: [] } : {}) };
  const floor = await floorHost(dir);
  const runner = new CommandRunner();
  const boxes: string[] = [];
  const rssBefore = settledMemory();
  const turns: (() => Promise<void>)[] = [
    async () => {
      const s = await ctl.createSandbox({ containerId: `seq${boxes.length}` });
      boxes.push(s.id);
      samples.tsnet.push(await timeMs(() => ctl.connect(big.id, s.id)));
    },
    async () => void samples.nsenter.push(await runIn(runner, cniHost || nvHost || hostTs.path!, 'nsenter', { cmd: 'true', args: [] })),
    async () => void samples.floor.push(await floorEndpoint(dir, floor, false)),
  ];
  if (hasCni)
    turns.push(async () => void samples.cni!.push(await cniAttach(runner, cniHost, dir.create(`cni${samples.cni!.length}`).path!, samples.cni!.length, state)));
  if (hasNetavark)
    turns.push(
      async () =>
        void samples.netavark!.push(await netavarkAttach(runner, nvHost, dir.create(`nv${samples.netavark!.length}`).path!, samples.netavark!.length, state)),
    );
  const concurrent: Concurrent = { samples: [], wallMs: 0 };
  try {
    for (let i = 0; i < opts.containers; i++) {
      for (let k = 0; k < turns.length; k++) await turns[(i + k) % turns.length]!();
      // After every 8th turn, tsnet does 8 attaches at once, so that both ways meet the same number of sandboxes.
      if (i % 8 === 7 || i === opts.containers - 1) {
        const count = Math.min(8, opts.containers - concurrent.samples.length);
        await attachEightAtOnce(ctl, big8.id, boxes, count, concurrent);
        for (let j = 0; j < count; j++) await floorEndpoint(dir, floor, true);
      }
      if (i % 20 === 0) progress(`attach, one at a time by each contender in turn, and 8 at a time by tsnet: ${i + 1}/${opts.containers}`);
    }
  } finally {
    floor.run.close();
    runner.close();
  }
  return { ctl, boxes, samples, concurrent, rssBefore, dir, floor };
}

interface Concurrent {
  readonly samples: number[];
  wallMs: number;
}

/** 8 sandboxes made (untimed), then attached by 8 requests in flight at once, as 8 clients would send them. */
async function attachEightAtOnce(ctl: Controller, networkId: string, boxes: string[], count: number, into: Concurrent): Promise<void> {
  if (count <= 0) return;
  const batch = await Promise.all(Array.from({ length: count }, (_, j) => ctl.createSandbox({ containerId: `par${into.samples.length + j}` })));
  boxes.push(...batch.map((s) => s.id));
  into.wallMs += await timeMs(async () => into.samples.push(...(await Promise.all(batch.map((s) => timeMs(() => ctl.connect(networkId, s.id)))))));
}

/**
 * Every sandbox torn down in one go (their veths in one request), after the floor's own teardown of as many; the
 * kernel goes on releasing the floor's namespaces after its call, so tsnet's waits until that is done.
 */
async function measureTeardown(ctl: Controller, boxes: string[], dir: NetnsDirectory, floor: FloorHost) {
  const rssWithAll = settledMemory();
  const floorMs = await floorTeardown(dir, floor);
  await new Promise((r) => setTimeout(r, 3000));
  const sendsBefore = ctl.hostNetlinkStats().sends;
  const teardownSandboxesMs = await timeMs(() => ctl.deleteSandboxes(boxes));
  const teardownSends = ctl.hostNetlinkStats().sends - sendsBefore;
  await ctl.close();
  return { teardownSandboxesMs, teardownSends, rssWithAll, floorMs };
}

async function measure(opts: Options, state: string): Promise<void> {
  const progress: Progress = (text) => {
    if (!opts.json && process.stderr.isTTY) process.stderr.write(`\r${text}`.padEnd(70));
  };
  const skipped: string[] = [];
  const networks = await measureNetworks(opts, state, progress);
  const { ctl, boxes, samples, concurrent, rssBefore, dir, floor } = await measureAttach(opts, state, progress, skipped);
  progress('');
  const sequential = samples.tsnet;
  const { teardownSandboxesMs, teardownSends, rssWithAll, floorMs } = await measureTeardown(ctl, boxes, dir, floor);
  const tenth = Math.max(1, Math.floor(opts.containers / 10));
  const attach = summarise(sequential);
  const nsenter = median(samples.nsenter);
  const net = (other: number[] | undefined): number[] | undefined => other?.map((t) => t - nsenter);
  const cni = net(samples.cni);
  const netavark = net(samples.netavark);
  const ratio = (other: number[] | undefined): number | null => (other ? round(median(other) / attach.medianMs, 1) : null);
  const result: CnmResult = {
    bench: 'cnm',
    networks: opts.networks,
    containers: opts.containers,
    ...networkFigures(networks),
    attachSequential: attach,
    attachSequentialMeanMs: round(sequential.reduce((a, b) => a + b, 0) / sequential.length),
    floor: summarise(samples.floor),
    attachOverFloor: round(attach.medianMs / median(samples.floor), 2),
    attachConcurrent8: {
      ...summarise(concurrent.samples),
      wallMs: round(concurrent.wallMs),
      perAttachThroughputMs: round(concurrent.wallMs / concurrent.samples.length),
    },
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
      floorMs: round(floorMs),
      overFloor: round(teardownSandboxesMs / floorMs, 2),
    },
    cniBridge: cni ? summarise(cni) : null,
    netavark: netavark ? summarise(netavark) : null,
    nsenterMedianMs: round(nsenter),
    memory: {
      rssBeforeMb: round(rssBefore.rss / 2 ** 20, 1),
      rssWithAllMb: round(rssWithAll.rss / 2 ** 20, 1),
      endpoints: boxes.length,
      growthPerEndpointKb: round((rssWithAll.held - rssBefore.held) / 1024 / boxes.length, 1),
    },
    ratio: { cniOverTsnet: ratio(cni), netavarkOverTsnet: ratio(netavark) },
    skipped,
  };
  if (opts.json) console.log(JSON.stringify(result));
  else printReport(opts, result, tenth);
}

function networkFigures(n: Awaited<ReturnType<typeof measureNetworks>>) {
  return {
    networkCreate: summarise(n.create.nftables),
    networkDelete: summarise(n.remove.nftables),
    networkCreateIptables: summarise(n.create.iptables),
    networkDeleteIptables: summarise(n.remove.iptables),
    bridgeDeleteFloor: summarise(n.remove.floor),
    bridgeUnlistFloor: summarise(n.remove.floorUnlisted),
  };
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
        row('network create (nftables)', result.networkCreate),
        row('network create (iptables)', result.networkCreateIptables),
        row('attach (tsnet), one at a time', attach),
        row("the kernel's floor for its endpoint (C)", result.floor),
        row('attach (tsnet), 8 at a time: each call until answered', result.attachConcurrent8),
        row('attach (CNI bridge plugin)', result.cniBridge),
        row('attach (netavark)', result.netavark),
        row('network delete (nftables)', result.networkDelete),
        row('network delete (iptables)', result.networkDeleteIptables),
        row("the kernel's floor: its bridge deleted", result.bridgeDeleteFloor),
        row("the kernel's floor: its bridge unlisted", result.bridgeUnlistFloor),
      ],
    ),
  );
  const met = (ok: boolean): string => (ok ? 'met' : 'NOT met');
  console.log(
    `\nnetwork create (nftables): ${result.networkCreate.medianMs} ms (target: at most 10 ms, ${met(result.networkCreate.medianMs <= 10)}); delete: ${result.networkDelete.medianMs} ms (target: at most 40 ms, ${met(result.networkDelete.medianMs <= 40)}; the kernel's deletion of its bridge alone: ${result.bridgeDeleteFloor.medianMs} ms, out of its namespace: ${result.bridgeUnlistFloor.medianMs} ms)`,
  );
  console.log(`attach / the kernel's floor for its endpoint (${result.floor.medianMs} ms): ${result.attachOverFloor}x (target: at most 2x)`);
  console.log(`baselines net of nsenter's own start (${result.nsenterMedianMs} ms): each contender attaches in a fresh namespace of its own, in turn`);
  console.log(`CNI / tsnet: ${result.ratio.cniOverTsnet ?? '-'}x; netavark / tsnet: ${result.ratio.netavarkOverTsnet ?? '-'}x (target: at least 20x)`);
  console.log(
    `attach, last ${tenth} vs first ${tenth}: ${result.attachGrowth.lastTenthMedianMs} ms vs ${result.attachGrowth.firstTenthMedianMs} ms (x${result.attachGrowth.lastOverFirst})`,
  );
  const perAttach = result.attachConcurrent8.perAttachThroughputMs;
  console.log(
    `8 at a time: ${perAttach} ms per attach of wall time (target: at most one at a time's median, ${attach.medianMs} ms: ${met(perAttach <= attach.medianMs)}; one at a time's mean: ${result.attachSequentialMeanMs} ms)`,
  );
  console.log(
    `teardown of ${result.teardown.sandboxes} sandboxes: ${result.teardown.totalMs} ms (${result.teardown.perSandboxMs} ms each, ${result.teardown.netlinkSends} netlink send(s) on the host); the kernel's floor for as many: ${result.teardown.floorMs} ms (${result.teardown.overFloor}x)`,
  );
  const m = result.memory;
  console.log(
    `memory (RSS of the controller's process): ${m.rssBeforeMb} MB before, ${m.rssWithAllMb} MB with ${m.endpoints} endpoints; held by its JavaScript: ${m.growthPerEndpointKb} KB more per endpoint`,
  );
  for (const s of skipped) console.log(`skipped: ${s}`);
}
