/**
 * `npm run bench -- cli [--json] [--runs N]`: the CLI's start, against Node's own. `tsnet version` and
 * `tsnet network ls` (round trips to a daemon started for the bench) and `tsnet --help` (no daemon) are timed
 * beside a bare `node -e 0` and the floors of a round trip (one request over node:net, as the CLI's plain calls, and
 * over Node's HTTP client), run after run in turn so that the machine's noise falls on all of them; prints the
 * medians, p95s and each one's ratio to Node's. The target: at most 1.1x.
 */
import { inThrowawayLab, parseBenchArgs } from './args.js';
import { percentile, round, summarise, table, type Summary } from './stats.js';
import { CLI, nodeRunMs, startBenchDaemon } from './tsnetd.js';

const parseArgs = (argv: string[]) => parseBenchArgs(argv, { runs: { default: 40, min: 5, max: 500 } });

export interface CliResult {
  readonly bench: 'cli';
  readonly runs: number;
  readonly node: Summary;
  readonly commands: { readonly command: string; readonly time: Summary; readonly overNode: number; readonly p95OverNode: number }[];
  readonly target: { atMost: number; met: boolean };
}

/** The commands the target is about (the issue's): round trips to the daemon. --help is timed beside them. */
const ROUND_TRIPS = ['tsnet version', 'tsnet network ls'];

/** What is timed, each as node's arguments: Node alone, the floors of a round trip, and tsnet's commands. */
function contendersFor(socket: string): [string, string[]][] {
  const host = ['--host', `unix://${socket}`];
  return [
    ['node -e 0', ['-e', '0']],
    // The floors of a round trip in Node: one request written on a node:net socket and read to its end (what
    // the CLI's plain calls do), and Node's HTTP client asking once; nothing else.
    [
      'floor: node + one request (node:net)',
      [
        '-e',
        `const s = require('node:net').connect(${JSON.stringify(socket)}); s.write('GET /v1/version HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n'); s.resume();`,
      ],
    ],
    [
      'floor: node + one request (node:http)',
      ['-e', `require('node:http').get({ socketPath: ${JSON.stringify(socket)}, path: '/v1/version' }, (r) => r.resume())`],
    ],
    ['tsnet version', [CLI, ...host, 'version']],
    ['tsnet network ls', [CLI, ...host, 'network', 'ls']],
    ['tsnet --help', [CLI, '--help']],
  ];
}

export async function main(argv: string[]): Promise<void> {
  const opts = parseArgs(argv);
  await inThrowawayLab(async (state) => {
    const d = await startBenchDaemon(state);
    try {
      const contenders = contendersFor(d.socket);
      const samples = contenders.map((): number[] => []);
      for (const [, args] of contenders) nodeRunMs(args); // warm the page cache
      for (let r = 0; r < opts.runs; r++) {
        // A rotating order: none of them always runs right after another.
        for (let k = 0; k < contenders.length; k++) {
          const i = (r + k) % contenders.length;
          samples[i]!.push(nodeRunMs(contenders[i]![1]));
        }
        if (!opts.json && process.stderr.isTTY) process.stderr.write(`\rruns: ${r + 1}/${opts.runs}`);
      }
      if (!opts.json && process.stderr.isTTY) process.stderr.write('\r'.padEnd(30) + '\r');
      const node = summarise(samples[0]!);
      const commands = contenders.slice(1).map(([command], i) => {
        const time = summarise(samples[i + 1]!);
        return { command, time, overNode: round(time.medianMs / node.medianMs, 2), p95OverNode: round(percentile(samples[i + 1]!, 95) / node.p95Ms, 2) };
      });
      const result: CliResult = {
        bench: 'cli',
        runs: opts.runs,
        node,
        commands,
        target: { atMost: 1.1, met: commands.filter((c) => ROUND_TRIPS.includes(c.command)).every((c) => c.overNode <= 1.1) },
      };
      if (opts.json) console.log(JSON.stringify(result));
      else {
        console.log(
          table(
            ['command', 'runs', 'median ms', 'p95 ms', 'median / node'],
            [
              ['node -e 0', node.count, node.medianMs, node.p95Ms, 1],
              ...commands.map((c) => [c.command, c.time.count, c.time.medianMs, c.time.p95Ms, c.overNode]),
            ],
          ),
        );
        console.log(`\ntarget: ${ROUND_TRIPS.join(' and ')} each at most ${result.target.atMost}x node -e 0: ${result.target.met ? 'met' : 'NOT met'}`);
      }
    } finally {
      await d.stop();
    }
  });
}
