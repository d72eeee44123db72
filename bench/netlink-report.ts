/** The people's report of `npm run bench -- netlink`: the table of contenders, the ratios, the growth, the targets. */
import type { Growth, NetlinkResult } from './netlink.js';
import { table, type Summary } from './stats.js';

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
