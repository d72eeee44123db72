/**
 * A lab run's report, end to end: `tsnet lab run` on examples/labs/wan.clab.yml (a delay, a rate, a schedule of
 * changes, a ping, a ping matrix and an iperf3 run, with real packets) writes report.json, the charts and the
 * topology as SVG and PNG, and index.html; headless Chromium (Debian's) opens the page, which renders its figures
 * with no console error, and its screenshot is kept as the test's artifact (test-artifacts/lab-report.png, and the folder beside it).
 */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { expect, it } from 'vitest';
import { tsnet, useBusyboxDaemon } from '../helpers/daemon.js';
import { describeKernel } from '../helpers/lab.js';

const WAN = fileURLToPath(new URL('../../examples/labs/wan.clab.yml', import.meta.url));
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
const CHROMIUM = '/usr/bin/chromium';
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

interface Report {
  status: string;
  exitCode: number;
  schedule?: { events: { lateMs?: number; error?: string }[] };
  experiments: { name: string; kind: string; error?: string; matrix?: { from: string; to: string; received: number; rttMs?: number }[] }[];
}

describeKernel('lab run report', () => {
  const env = useBusyboxDaemon(['--bridge', 'none']);

  it('writes the data, the charts and the topology as SVG and PNG, and a page Chromium renders with no console error', async () => {
    const out = join(env.lab.dir, 'wan-report');
    const run = await tsnet(env.d, 'lab', 'run', '-t', WAN, '--out', out);
    expect(run, `${run.stdout}${run.stderr}`).toMatchObject({ code: 0 });
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as Report;
    expect(report).toMatchObject({ status: 'passed', exitCode: 0 });
    expect(report.schedule!.events.every((e) => !e.error)).toBe(true);
    // The matrix: every ordered pair of the three nodes, each answered, the client-server pair across both links.
    const matrix = report.experiments.find((x) => x.kind === 'matrix')!.matrix!;
    expect(matrix).toHaveLength(6);
    expect(matrix.every((c) => c.received > 0)).toBe(true);
    expect(matrix.find((c) => c.from === 'client' && c.to === 'server')!.rttMs).toBeGreaterThan(19);

    const files = readdirSync(out);
    for (const stem of ['topology', 'rtt-rtt', 'rtt-loss', 'matrix-matrix', 'goodput-throughput']) {
      expect(files).toContain(`${stem}.svg`);
      expect(readFileSync(join(out, `${stem}.svg`), 'utf8')).toMatch(/^(<\?xml[^>]*>\s*)?(<!DOCTYPE[^>]*>\s*)?(<!--[^]*?-->\s*)?<svg/u);
      expect(readFileSync(join(out, `${stem}.png`)).subarray(0, 8)).toEqual(PNG_SIGNATURE);
    }

    expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: scripts/setup.sh installs Debian's chromium`).toBe(true);
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const problems: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(`console: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`page: ${e.message}`));
      page.on('requestfailed', (r) => problems.push(`request: ${r.url()}`));
      await page.goto(pathToFileURL(join(out, 'index.html')).href, { waitUntil: 'load' });
      expect(await page.title()).toBe('lab wan: passed');
      // Every figure drew: its SVG has a size on the page.
      const sizes = await page.$$eval('figure > svg', (svgs) => svgs.map((s) => s.getBoundingClientRect().width * s.getBoundingClientRect().height));
      expect(sizes.length).toBeGreaterThanOrEqual(5);
      expect(sizes.every((a) => a > 10_000)).toBe(true);
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'lab-report.png'), fullPage: true });
      cpSync(out, join(ARTIFACTS, 'lab-report'), { recursive: true });
      expect(problems).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
