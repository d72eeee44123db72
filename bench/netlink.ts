/**
 * `npm run bench -- netlink [--json] [--count N] [--baseline N]`: the full setup of one container endpoint (a veth
 * pair with its peer created inside the container's namespace as eth0, on a bridge, an address, both ends and lo
 * up, a default route), by tsnet over netlink, by the kernel's floor (bench/floor.c: one C process, raw rtnetlink,
 * synchronous requests) and by the equivalent `ip` commands. Each contender works in a fresh namespace of its own
 * holding the same bridge, and they take turns endpoint by endpoint (in a rotating order) so that the machine's
 * noise falls on all of them; the ip commands are started by a runner process of the bench's (runner.ts). Prints
 * medians and p95s, tsnet/floor and ip/tsnet, and how each one's cost grows from the first endpoint on a bridge to
 * the last.
 */
import { spawnSync } from 'node:child_process';
import { attachVethEndpoint } from '../src/drivers/bridge/veth-endpoint.js';
import { Handle } from '../src/netlink/handle.js';
import { parseBenchArgs } from './args.js';
import { ensureIsolated } from '../src/lab/isolation.js';
import { NetnsDirectory, type NetNs } from '../src/netns/netns.js';
import { Floor } from './floor.js';
import { CommandRunner } from './runner.js';
import { median, round, summarise, timeMs } from './stats.js';
import { printNetlinkReport, type Growth, type NetlinkResult, type Target, type Who } from './netlink-report.js';

function parseArgs(argv: string[]) {
  return parseBenchArgs(argv, { count: { default: 1000, min: 10, max: 1000 }, baseline: { default: 200, min: 10, max: 1000 } });
}

const GATEWAY = '10.88.0.1';
const addressOf = (n: number): string => `10.88.${(n + 2) >> 8}.${(n + 2) & 255}/16`;
const CONTENDERS: readonly Who[] = ['tsnet', 'floor', 'ip'];

/**
 * A container's sandbox as tsnet makes one, before any endpoint joins: a fresh namespace with IPv6 disabled (the
 * network is IPv4-only, as Docker does for such containers). Every contender gets the same sandboxes.
 */
function createSandbox(dir: NetnsDirectory, name: string): NetNs {
  const ns = dir.create(name);
  ns.sysctlWrite('net/ipv6/conf/all/disable_ipv6', '1');
  ns.sysctlWrite('net/ipv6/conf/default/disable_ipv6', '1');
  return ns;
}

/** A contender's own "host": a fresh namespace with one bridge br0 holding the gateway address. */
interface Host {
  readonly ns: NetNs;
  readonly bridgeIndex: number;
}

async function createHost(dir: NetnsDirectory, who: Who): Promise<Host> {
  const ns = dir.create(`host-${who}`);
  const handle = Handle.open(ns);
  try {
    await handle.linkSet('lo', { up: true });
    const bridge = await handle.linkAdd({ kind: 'bridge', name: 'br0', up: true });
    await handle.addrAdd(bridge.index, `${GATEWAY}/16`);
    return { ns, bridgeIndex: bridge.index };
  } finally {
    handle.close();
  }
}

/**
 * The same with iproute2: the commands a person or a shell-script plugin would run, started by the bench's runner
 * process (not forked from the bench's own, where tsnet's contender runs: see runner.ts); its time in ms.
 */
function ipEndpoint(runner: CommandRunner, sandbox: string, n: number): Promise<number> {
  const script = [
    `ip -n host-ip link add vi${n} type veth peer name eth0 netns ${sandbox}`,
    `ip -n host-ip link set vi${n} master br0 up`,
    `ip -n ${sandbox} link set lo up`,
    `ip -n ${sandbox} addr add ${addressOf(n)} dev eth0`,
    `ip -n ${sandbox} link set eth0 up`,
    `ip -n ${sandbox} route add default via ${GATEWAY}`,
  ].join(' && ');
  return runner.run(`the ip baseline's endpoint ${n}`, { cmd: 'sh', args: ['-ec', script] });
}

function checkEndpoint(sandbox: string, n: number): void {
  const addr = spawnSync('ip', ['-n', sandbox, '-j', 'addr', 'show', 'eth0'], { encoding: 'utf8' });
  const route = spawnSync('ip', ['-n', sandbox, '-j', 'route', 'show', 'default'], { encoding: 'utf8' });
  const info = JSON.parse(addr.stdout) as { operstate: string; addr_info: { local: string }[] }[];
  const routes = JSON.parse(route.stdout) as { gateway: string }[];
  const want = addressOf(n).split('/')[0];
  if (info[0]?.addr_info[0]?.local !== want || routes[0]?.gateway !== GATEWAY || info[0]?.operstate !== 'UP') {
    throw new Error(`endpoint ${n} in ${sandbox} is not set up right: ${addr.stdout} ${route.stdout}`);
  }
  const ping = spawnSync('ip', ['netns', 'exec', sandbox, 'ping', '-c', '1', '-W', '1', '-q', GATEWAY]);
  if (ping.status !== 0) throw new Error(`endpoint ${n} in ${sandbox} cannot reach its gateway`);
}

type Options = ReturnType<typeof parseArgs>;

interface Samples {
  readonly tsnet: number[];
  readonly floor: number[];
  readonly ip: number[];
  /** tsnet's time inside the kernel's send and receive calls, per endpoint. */
  readonly tsnetKernel: number[];
}

/** One endpoint by each contender due at step n, in an order that rotates with n. */
async function step(n: number, opts: Options, ctx: Context, s: Samples): Promise<void> {
  for (let k = 0; k < CONTENDERS.length; k++) {
    const who = CONTENDERS[(n + k) % CONTENDERS.length]!;
    if (who === 'ip') {
      if (n >= opts.baseline) continue;
      createSandbox(ctx.dir, `ip${n}`);
      s.ip.push(await ipEndpoint(ctx.runner, `ip${n}`, n));
    } else if (who === 'floor') {
      if (n >= opts.count) continue;
      const sandbox = createSandbox(ctx.dir, `fl${n}`);
      s.floor.push(
        await ctx.floor.endpoint({
          sandboxPath: sandbox.path!,
          bridgeIndex: ctx.hosts.floor.bridgeIndex,
          hostName: `vf${n}`,
          address: addressOf(n),
          gateway: GATEWAY,
        }),
      );
    } else {
      if (n >= opts.count) continue;
      await tsnetStep(n, ctx, s);
    }
  }
}

/** tsnet's endpoint (attachVethEndpoint): the sandbox's handle is opened with the sandbox, as the daemon keeps it. */
async function tsnetStep(n: number, ctx: Context, s: Samples): Promise<void> {
  const sandbox = createSandbox(ctx.dir, `ts${n}`);
  const inner = Handle.open(sandbox);
  const kernelBefore = ctx.tsHost.stats.kernelMs;
  const spec = {
    hostName: `vt${n}`,
    containerName: 'eth0',
    bridgeIndex: ctx.hosts.tsnet.bridgeIndex,
    sandbox,
    sandboxHandle: inner,
    address: addressOf(n),
    gateway: GATEWAY,
  };
  s.tsnet.push(await timeMs(() => attachVethEndpoint(ctx.tsHost, spec)));
  s.tsnetKernel.push(ctx.tsHost.stats.kernelMs - kernelBefore + inner.stats.kernelMs);
  inner.close();
}

interface Context {
  readonly dir: NetnsDirectory;
  readonly hosts: Record<Who, Host>;
  readonly tsHost: Handle;
  readonly floor: Floor;
  readonly runner: CommandRunner;
}

async function sample(opts: Options): Promise<Samples> {
  const dir = new NetnsDirectory('/run/netns');
  const hosts = { tsnet: await createHost(dir, 'tsnet'), floor: await createHost(dir, 'floor'), ip: await createHost(dir, 'ip') };
  const ctx: Context = { dir, hosts, tsHost: Handle.open(hosts.tsnet.ns), floor: Floor.start(hosts.floor.ns.path!), runner: new CommandRunner() };
  const s: Samples = { tsnet: [], floor: [], ip: [], tsnetKernel: [] };
  const total = Math.max(opts.count, opts.baseline);
  try {
    for (let n = 0; n < total; n++) {
      await step(n, opts, ctx, s);
      if (n % 20 === 0 && !opts.json && process.stderr.isTTY) process.stderr.write(`\rendpoints: ${n + 1}/${total}`.padEnd(60));
    }
    if (!opts.json && process.stderr.isTTY) process.stderr.write('\r'.padEnd(60) + '\r');
  } finally {
    ctx.floor.close();
    ctx.runner.close();
    ctx.tsHost.close();
  }
  for (const n of [0, opts.baseline - 1]) checkEndpoint(`ip${n}`, n);
  for (const n of [0, opts.count - 1]) checkEndpoint(`fl${n}`, n);
  for (const n of [0, opts.count - 1]) checkEndpoint(`ts${n}`, n);
  return s;
}

function growth(samples: readonly number[], tenth: number): Growth {
  const first = median(samples.slice(0, tenth));
  const last = median(samples.slice(-tenth));
  return { firstTenthMedianMs: round(first), lastTenthMedianMs: round(last), lastOverFirst: round(last / first, 2) };
}

function evaluate(s: Samples, opts: Options): NetlinkResult {
  const paired = Math.min(opts.count, opts.baseline);
  const tenth = Math.max(1, Math.floor(opts.count / 10));
  const ts = summarise(s.tsnet);
  const floor = summarise(s.floor);
  const ip = summarise(s.ip.slice(0, paired));
  const tsPaired = summarise(s.tsnet.slice(0, paired));
  const g = { tsnet: growth(s.tsnet, tenth), floor: growth(s.floor, tenth) };
  const growthRatio = round(g.tsnet.lastOverFirst / g.floor.lastOverFirst, 2);
  const overFloor = { median: round(ts.medianMs / floor.medianMs, 2), p95: round(ts.p95Ms / floor.p95Ms, 2) };
  const check = (name: string, value: number, limit: { atMost?: number; atLeast?: number }): Target => ({
    name,
    value,
    ...limit,
    met: (limit.atMost === undefined || value <= limit.atMost) && (limit.atLeast === undefined || value >= limit.atLeast),
  });
  return {
    bench: 'netlink',
    scenario: 'veth pair with peer in the sandbox as eth0, on a bridge, address, links up, default route',
    paired: { tsnet: tsPaired, floor: summarise(s.floor.slice(0, paired)), ip },
    all: { tsnet: ts, floor },
    ratios: { tsnetOverFloor: overFloor, ipOverTsnet: { median: round(ip.medianMs / tsPaired.medianMs, 1), p95: round(ip.p95Ms / tsPaired.p95Ms, 1) } },
    growth: { ...g, tsnetOverFloor: growthRatio },
    tsnetKernel: { insideMedianMs: round(median(s.tsnetKernel)), outsideMedianMs: round(median(s.tsnet.map((t, i) => t - s.tsnetKernel[i]!))) },
    targets: [
      check('tsnet/floor, median', overFloor.median, { atMost: 1.3 }),
      check('tsnet/floor, p95', overFloor.p95, { atMost: 1.5 }),
      check("growth: tsnet's last/first tenth over the floor's", growthRatio, { atMost: 1.2 }),
      check('ip/tsnet, median', round(ip.medianMs / tsPaired.medianMs, 1), { atLeast: 20 }),
    ],
  };
}

export async function main(argv: string[]): Promise<void> {
  const opts = parseArgs(argv);
  ensureIsolated();
  const result = evaluate(await sample(opts), opts);
  if (opts.json) console.log(JSON.stringify(result));
  else printNetlinkReport(result);
}
