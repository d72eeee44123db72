/** The people's report of `npm run bench -- netlink`: the table of contenders, the ratios, the growth, the targets. */
import type { NetlinkResult } from './netlink.js';
import { table } from './stats.js';

export function printNetlinkReport(r: NetlinkResult): void {
  console.log(`endpoint setup: ${r.scenario}\n`);
  console.log(
    table(
      ['who', 'endpoints', 'median ms', 'p95 ms', 'first tenth ms', 'last tenth ms', 'last/first'],
      [
        [
          'tsnet (netlink)',
          r.all.tsnet.count,
          r.all.tsnet.medianMs,
          r.all.tsnet.p95Ms,
          r.growth.tsnet.firstTenthMedianMs,
          r.growth.tsnet.lastTenthMedianMs,
          r.growth.tsnet.lastOverFirst,
        ],
        [
          'floor (C, raw rtnetlink)',
          r.all.floor.count,
          r.all.floor.medianMs,
          r.all.floor.p95Ms,
          r.growth.floor.firstTenthMedianMs,
          r.growth.floor.lastTenthMedianMs,
          r.growth.floor.lastOverFirst,
        ],
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
