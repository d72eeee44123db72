/**
 * A lab run's report folder: report.json (the data, for CI), the charts and the topology as SVG and PNG, and
 * index.html that holds them all. The topology is drawn by Graphviz's dot when it is installed (setup installs it);
 * without it the report says so and has the rest.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LabRunReport } from '../../api/labs.js';
import { reportCharts } from './charts.js';
import { reportHtml, type Figure } from './html.js';
import { chartSvg, svgToPng } from './render.js';

export interface WrittenReport {
  readonly dir: string;
  readonly files: readonly string[];
  /** What could not be drawn, and why. */
  readonly warnings: readonly string[];
}

function topologyFigure(dot: string, dir: string, warnings: string[]): Figure | undefined {
  const r = spawnSync('dot', ['-Tsvg'], { input: dot, encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    warnings.push(`the topology is not drawn: Graphviz's dot failed: ${r.error?.message ?? r.stderr.trim()}`);
    return undefined;
  }
  writeFileSync(join(dir, 'topology.svg'), r.stdout);
  writeFileSync(join(dir, 'topology.png'), svgToPng(r.stdout));
  return { title: 'the topology', svg: r.stdout, png: 'topology.png' };
}

/** Writes the report folder; `topologyDot` is the lab's graph in Graphviz's language. */
export async function writeReport(dir: string, report: LabRunReport, topologyDot?: string): Promise<WrittenReport> {
  mkdirSync(dir, { recursive: true });
  const warnings: string[] = [];
  const files = ['report.json'];
  writeFileSync(join(dir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  const figures: Figure[] = [];
  const topology = topologyDot === undefined ? undefined : topologyFigure(topologyDot, dir, warnings);
  if (topology) {
    figures.push(topology);
    files.push('topology.svg', 'topology.png');
  }
  for (const c of reportCharts(report)) {
    const svg = await chartSvg(c.spec, c.title);
    writeFileSync(join(dir, `${c.id}.svg`), svg);
    writeFileSync(join(dir, `${c.id}.png`), svgToPng(svg));
    files.push(`${c.id}.svg`, `${c.id}.png`);
    figures.push({ title: c.title, svg, png: `${c.id}.png` });
  }
  writeFileSync(join(dir, 'index.html'), reportHtml(report, figures));
  files.push('index.html');
  return { dir, files, warnings };
}
