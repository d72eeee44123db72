/**
 * `npm run bench -- netlink [--json] [--count N] [--baseline N]`: the full setup of one container endpoint (a veth
 * pair with its peer created inside the container's namespace as eth0, on a bridge, an address, both ends and lo
 * up, a default route), done by tsnet over netlink and by the equivalent `ip` commands, in the same run, inside a
 * throwaway namespace. Prints median and p95 per endpoint for both, their ratio, and whether tsnet's cost stays flat
 * from the first endpoint to the last.
 */
import { spawnSync } from 'node:child_process';
import { attachVethEndpoint } from '../src/drivers/bridge/veth-endpoint.js';
import { Handle } from '../src/netlink/handle.js';
import type { Link } from '../src/netlink/link.js';
import { parseBenchArgs } from './args.js';
import { ensureIsolated } from '../src/lab/isolation.js';
import { NetnsDirectory, type NetNs } from '../src/netns/netns.js';
import { median, round, summarise, table, timeMs, type Summary } from './stats.js';

function parseArgs(argv: string[]) {
  return parseBenchArgs(argv, { count: { default: 1000, min: 10, max: 1000 }, baseline: { default: 200, min: 10, max: 1000 } });
}

/** tsnet's endpoints live in 10.88.0.0/16, the baseline's in 10.89.0.0/16: two bridges, no overlap. */
const GATEWAY = { ts: '10.88.0.1', ip: '10.89.0.1' } as const;
type Who = keyof typeof GATEWAY;
const addressOf = (who: Who, n: number): string => `10.${who === 'ts' ? 88 : 89}.${(n + 2) >> 8}.${(n + 2) & 255}/16`;

/**
 * A container's sandbox as tsnet makes one, before any endpoint joins: a fresh namespace with IPv6 disabled (the
 * network is IPv4-only, as Docker does for such containers). Both contenders get the same sandboxes.
 */
function createSandbox(dir: NetnsDirectory, name: string): NetNs {
  const ns = dir.create(name);
  ns.sysctlWrite('net/ipv6/conf/all/disable_ipv6', '1');
  ns.sysctlWrite('net/ipv6/conf/default/disable_ipv6', '1');
  return ns;
}

/**
 * tsnet's endpoint setup (attachVethEndpoint): one pipelined send on the host, one in the sandbox. The sandbox's
 * handle is opened with the sandbox, as the daemon keeps it, so it is not counted here.
 */
async function tsnetEndpoint(host: Handle, bridge: Link, sandbox: NetNs, inner: Handle, n: number): Promise<void> {
  await attachVethEndpoint(host, {
    hostName: `vt${n}`,
    containerName: 'eth0',
    bridgeIndex: bridge.index,
    sandbox,
    sandboxHandle: inner,
    address: addressOf('ts', n),
    gateway: GATEWAY.ts,
  });
}

/** The same with iproute2: the commands a person or a shell-script plugin would run. */
function ipEndpoint(bridgeName: string, sandbox: string, n: number): void {
  const script = [
    `ip link add vi${n} type veth peer name eth0 netns ${sandbox}`,
    `ip link set vi${n} master ${bridgeName} up`,
    `ip -n ${sandbox} link set lo up`,
    `ip -n ${sandbox} addr add ${addressOf('ip', n)} dev eth0`,
    `ip -n ${sandbox} link set eth0 up`,
    `ip -n ${sandbox} route add default via ${GATEWAY.ip}`,
  ].join(' && ');
  const r = spawnSync('sh', ['-ec', script], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip baseline failed for endpoint ${n}: ${r.stderr.trim()}`);
}

function checkEndpoint(who: Who, sandbox: string, n: number): void {
  const addr = spawnSync('ip', ['-n', sandbox, '-j', 'addr', 'show', 'eth0'], { encoding: 'utf8' });
  const route = spawnSync('ip', ['-n', sandbox, '-j', 'route', 'show', 'default'], { encoding: 'utf8' });
  const info = JSON.parse(addr.stdout) as { operstate: string; addr_info: { local: string }[] }[];
  const routes = JSON.parse(route.stdout) as { gateway: string }[];
  const want = addressOf(who, n).split('/')[0];
  if (info[0]?.addr_info[0]?.local !== want || routes[0]?.gateway !== GATEWAY[who] || info[0]?.operstate !== 'UP') {
    throw new Error(`endpoint ${n} in ${sandbox} is not set up right: ${addr.stdout} ${route.stdout}`);
  }
}

type Options = ReturnType<typeof parseArgs>;

interface NetlinkResult {
  readonly bench: 'netlink';
  readonly scenario: string;
  readonly tsnet: Summary;
  readonly ip: Summary;
  readonly tsnetAll: Summary;
  readonly ratio: { median: number; p95: number };
  readonly flatness: {
    firstTenthMedianMs: number;
    lastTenthMedianMs: number;
    lastOverFirst: number;
    inKernelMedianMs: number;
    outsideKernelFirstTenthMedianMs: number;
    outsideKernelLastTenthMedianMs: number;
  };
  readonly target: { ratioAtLeast: number; met: boolean };
}

/** Both contenders' samples: per-endpoint times, and tsnet's time inside the kernel's calls. */
async function sample(opts: Options): Promise<{ ipSamples: number[]; tsSamples: number[]; tsKernel: number[] }> {
  const dir = new NetnsDirectory('/run/netns');
  const host = Handle.open();
  const progress = (text: string): void => {
    if (!opts.json && process.stderr.isTTY) process.stderr.write(`\r${text}`.padEnd(60));
  };

  // Both contenders run interleaved, one endpoint each in turn, so that they share the machine's conditions;
  // tsnet then goes on alone up to --count endpoints, to show whether its cost stays flat.
  const ipBridge = await host.linkAdd({ kind: 'bridge', name: 'br-ip', up: true });
  await host.addrAdd(ipBridge.index, `${GATEWAY.ip}/16`);
  const bridge = await host.linkAdd({ kind: 'bridge', name: 'br-ts', up: true });
  await host.addrAdd(bridge.index, `${GATEWAY.ts}/16`);
  const ipSamples: number[] = [];
  const tsSamples: number[] = [];
  const tsKernel: number[] = [];
  for (let n = 0; n < Math.max(opts.count, opts.baseline); n++) {
    if (n < opts.count) {
      const sandbox = createSandbox(dir, `ts${n}`);
      const inner = Handle.open(sandbox);
      const kernelBefore = host.stats.kernelMs;
      tsSamples.push(await timeMs(() => tsnetEndpoint(host, bridge, sandbox, inner, n)));
      tsKernel.push(host.stats.kernelMs - kernelBefore + inner.stats.kernelMs);
      inner.close();
    }
    if (n < opts.baseline) {
      createSandbox(dir, `ip${n}`);
      ipSamples.push(await timeMs(() => ipEndpoint('br-ip', `ip${n}`, n)));
    }
    if (n % 20 === 0) progress(`endpoints: ${n + 1}/${Math.max(opts.count, opts.baseline)}`);
  }
  progress('');
  for (const n of [0, opts.baseline - 1]) checkEndpoint('ip', `ip${n}`, n);
  for (const n of [0, opts.count - 1]) checkEndpoint('ts', `ts${n}`, n);
  const ping = spawnSync('ip', ['netns', 'exec', `ts${opts.count - 1}`, 'ping', '-c', '1', '-W', '1', '-q', GATEWAY.ts]);
  if (ping.status !== 0) throw new Error('the last tsnet endpoint cannot reach its gateway');
  host.close();
  return { ipSamples, tsSamples, tsKernel };
}

export async function main(argv: string[]): Promise<void> {
  const opts = parseArgs(argv);
  ensureIsolated();
  const { ipSamples, tsSamples, tsKernel } = await sample(opts);

  // The comparison uses the endpoints both made under the same conditions; the flatness uses all of tsnet's.
  const paired = Math.min(opts.count, opts.baseline);
  const ts = summarise(tsSamples.slice(0, paired));
  const tsAll = summarise(tsSamples);
  const ip = summarise(ipSamples.slice(0, paired));
  const tenth = Math.max(1, Math.floor(opts.count / 10));
  const first = median(tsSamples.slice(0, tenth));
  const last = median(tsSamples.slice(-tenth));
  // Time outside the kernel's calls: what tsnet itself costs per endpoint.
  const own = tsSamples.map((t, i) => t - tsKernel[i]!);
  const ownFirst = median(own.slice(0, tenth));
  const ownLast = median(own.slice(-tenth));
  const result: NetlinkResult = {
    bench: 'netlink',
    scenario: 'veth pair with peer in the sandbox as eth0, on a bridge, address, links up, default route',
    tsnet: ts,
    ip,
    tsnetAll: tsAll,
    ratio: { median: round(ip.medianMs / ts.medianMs, 1), p95: round(ip.p95Ms / ts.p95Ms, 1) },
    flatness: {
      firstTenthMedianMs: round(first),
      lastTenthMedianMs: round(last),
      lastOverFirst: round(last / first, 2),
      inKernelMedianMs: round(median(tsKernel)),
      outsideKernelFirstTenthMedianMs: round(ownFirst),
      outsideKernelLastTenthMedianMs: round(ownLast),
    },
    target: { ratioAtLeast: 20, met: ip.medianMs / ts.medianMs >= 20 },
  };
  if (opts.json) console.log(JSON.stringify(result));
  else printReport(result, paired, tenth);
}

function printReport(result: NetlinkResult, paired: number, tenth: number): void {
  const { tsnet: ts, ip, tsnetAll: tsAll } = result;
  console.log(`endpoint setup: ${result.scenario}\n`);
  console.log(
    table(
      ['who', 'endpoints', 'median ms', 'p95 ms'],
      [
        ['tsnet (netlink)', ts.count, ts.medianMs, ts.p95Ms],
        ['ip commands', ip.count, ip.medianMs, ip.p95Ms],
        ['tsnet, all endpoints', tsAll.count, tsAll.medianMs, tsAll.p95Ms],
      ],
    ),
  );
  console.log(
    `\nip / tsnet over the ${paired} endpoints each made in turn: ${result.ratio.median}x at the median, ${result.ratio.p95}x at p95 (target: at least 20x)`,
  );
  console.log(
    `tsnet, first ${tenth} endpoints: ${result.flatness.firstTenthMedianMs} ms median; last ${tenth}: ` +
      `${result.flatness.lastTenthMedianMs} ms (x${result.flatness.lastOverFirst})`,
  );
  console.log(
    `of which inside the kernel's calls: ${result.flatness.inKernelMedianMs} ms median; tsnet's own time outside ` +
      `them: ${result.flatness.outsideKernelFirstTenthMedianMs} ms first, ${result.flatness.outsideKernelLastTenthMedianMs} ms last`,
  );
}
