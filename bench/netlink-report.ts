/** The result of `npm run bench -- netlink` (its shape, as --json prints it) and its report for people: the table of contenders, the ratios, the growth, the targets. */
import { table, type Summary } from './stats.js';

/** The contenders, in the order they take turns. */
export type Who = 'tsnet' | 'floor' | 'ip';

/** How a contender's cost grows on one bridge: the median of its first tenth of endpoints against its last. */
export interface Growth {
  readonly firstTenthMedianMs: number;
  readonly lastTenthMedianMs: number;
  readonly lastOverFirst: number;
}

export interface Target {
  readonly name: string;
  readonly value: number;
  readonly atMost?: number;
  readonly atLeast?: number;
  readonly met: boolean;
}

export interface NetlinkResult {
  readonly bench: 'netlink';
  readonly scenario: string;
  /** Over the endpoints every contender made in turn (the first --baseline of them). */
  readonly paired: Record<Who, Summary>;
  /** Over all --count endpoints (tsnet and the floor). */
  readonly all: { tsnet: Summary; floor: Summary };
  readonly ratios: { tsnetOverFloor: { median: number; p95: number }; ipOverTsnet: { median: number; p95: number } };
  readonly growth: { tsnet: Growth; floor: Growth; tsnetOverFloor: number };
  /** tsnet's time inside the kernel's calls, and outside them (its own cost), per endpoint. */
  readonly tsnetKernel: { insideMedianMs: number; outsideMedianMs: number };
  readonly targets: Target[];
}

const row = (who: string, s: Summary, g: Growth): (string | number)[] => [
  who,
  s.count,
  s.medianMs,
  s.p95Ms,
  g.firstTenthMedianMs,
  g.lastTenthMedianMs,
  g.lastOverFirst,
];

export function printNetlinkReport(r: NetlinkResult): void {
  console.log(`endpoint setup: ${r.scenario}\n`);
  console.log(
    table(
      ['who', 'endpoints', 'median ms', 'p95 ms', 'first tenth ms', 'last tenth ms', 'last/first'],
      [
        row('tsnet (netlink)', r.all.tsnet, r.growth.tsnet),
        row('floor (C, raw rtnetlink)', r.all.floor, r.growth.floor),
        ['ip commands', r.paired.ip.count, r.paired.ip.medianMs, r.paired.ip.p95Ms, '', '', ''],
      ],
    ),
  );
  console.log(`\ntsnet / floor: ${r.ratios.tsnetOverFloor.median}x at the median, ${r.ratios.tsnetOverFloor.p95}x at p95`);
  console.log(
    `ip / tsnet over the ${r.paired.ip.count} endpoints all three made in turn: ${r.ratios.ipOverTsnet.median}x at the median, ${r.ratios.ipOverTsnet.p95}x at p95`,
  );
  console.log(`tsnet per endpoint: ${r.tsnetKernel.insideMedianMs} ms inside the kernel's calls, ${r.tsnetKernel.outsideMedianMs} ms outside them (median)\n`);
  console.log(
    table(
      ['target', 'value', 'limit', 'met'],
      r.targets.map((t) => [t.name, t.value, t.atMost !== undefined ? `at most ${t.atMost}` : `at least ${t.atLeast}`, t.met ? 'yes' : 'NO']),
    ),
  );
}
