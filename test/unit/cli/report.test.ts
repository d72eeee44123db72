/** The lab run report's pictures and page, from a report made here: the charts it has data for, drawn as SVG and PNG. */
import { describe, expect, it } from 'vitest';
import type { LabRunReport } from '../../../src/api/labs.js';
import { eventMarkers, reportCharts } from '../../../src/cli/report/charts.js';
import { reportHtml } from '../../../src/cli/report/html.js';
import { chartSvg, svgToPng } from '../../../src/cli/report/render.js';

const summary = { count: 3, mean: 20, stddev: 1, min: 19, p50: 20, p95: 21, p99: 21, max: 21 };
const REPORT: LabRunReport = {
  lab: 'w<a>n',
  startedAt: '2026-11-30T10:00:01.000Z',
  finishedAt: '2026-11-30T10:00:09.000Z',
  kernel: 'Linux 6.1',
  links: [],
  schedule: { startedAt: '2026-11-30T10:00:00.000Z', events: [{ at: 3000, endpoint: 'r:eth1', change: 'loss 2%', appliedMs: 3004, lateMs: 4 }] },
  experiments: [
    {
      name: 'rtt',
      kind: 'ping',
      startedMs: 0,
      metrics: {
        rtt_ms: { unit: 'ms', samples: [0, 1000, 2000, 3000].map((t) => ({ t, v: 20 })), summary },
        loss_pct: { unit: '%', samples: [0, 1000, 2000, 3000].map((t, i) => ({ t, v: i === 3 ? 100 : 0 })), summary },
      },
      assertions: [{ metric: 'rtt_ms', statistic: 'p50', bound: 'max', limit: 25, value: 20, pass: true }],
    },
    {
      name: 'm',
      kind: 'matrix',
      startedMs: 4000,
      metrics: {},
      assertions: [],
      matrix: [
        { from: 'a', to: 'b', address: '10.0.0.2', sent: 10, received: 10, lossPct: 0, rttMs: 0.05 },
        { from: 'b', to: 'a', address: '10.0.0.1', sent: 10, received: 0, lossPct: 100 },
      ],
    },
  ],
  status: 'passed',
  exitCode: 0,
};

describe('lab run report', () => {
  it('marks the events at their time from the run start, and has a chart for each metric with data', () => {
    expect(eventMarkers(REPORT)).toEqual([{ t: 2.004, label: 'r:eth1 loss 2%', row: 0 }]);
    expect(reportCharts(REPORT).map((c) => c.id)).toEqual(['rtt-rtt', 'rtt-loss', 'm-matrix']);
  });

  it('draws each chart as SVG with its title and axes, and as a PNG twice its size', async () => {
    for (const c of reportCharts(REPORT)) {
      const svg = await chartSvg(c.spec, c.title);
      expect(svg).toMatch(/<svg[^>]*width="(\d+)"/u);
      expect(svg).toContain(c.title.replace(/&/gu, '&amp;'));
      const png = svgToPng(svg);
      expect(png.readUInt32BE(16)).toBe(2 * Number(/width="(\d+)"/u.exec(svg)![1]));
    }
    expect(await chartSvg(reportCharts(REPORT)[0]!.spec, 'x')).not.toContain('stroke-width="8"');
    expect(await chartSvg(reportCharts(REPORT)[0]!.spec, 'x')).toContain('r:eth1 loss 2%');
  });

  it('writes a page with the verdict, the assertions and the figures, with what it shows escaped', () => {
    const html = reportHtml(REPORT, [{ title: 'a <b>', svg: '<?xml version="1.0"?><svg></svg>', png: 'a.png' }]);
    expect(html).toContain('<title>lab w&lt;a&gt;n: passed</title>');
    expect(html).toContain('<td>p50 &lt;= 25</td>');
    expect(html).toContain('<figure><svg></svg><figcaption>a &lt;b&gt; (<a href="a.png">PNG</a>)</figcaption></figure>');
    expect(html).not.toContain('<script');
  });
});
