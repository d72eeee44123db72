/**
 * The report's page: one HTML file with the run's verdict, its assertions, every metric's summary, the links and the
 * schedule, and the pictures inline (SVG), each with a link to its PNG. No script and nothing fetched: it opens from
 * a CI artifact as it is.
 */
import type { LabRunReport } from '../../api/labs.js';

export interface Figure {
  readonly title: string;
  readonly svg: string;
  readonly png: string;
}

const esc = (s: unknown): string => String(s).replace(/[&<>"']/gu, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function table(head: readonly string[], rows: readonly (readonly unknown[])[]): string {
  if (!rows.length) return '<p class="none">none</p>';
  const tr = (cells: readonly unknown[], tag: string): string => `<tr>${cells.map((c) => `<${tag}>${esc(c)}</${tag}>`).join('')}</tr>`;
  return `<table><thead>${tr(head, 'th')}</thead><tbody>${rows.map((r) => tr(r, 'td')).join('')}</tbody></table>`;
}

function assertionRows(r: LabRunReport): unknown[][] {
  return r.experiments.flatMap((x) =>
    x.error
      ? [[x.name, '-', '-', '-', `could not run: ${x.error}`]]
      : x.assertions.map((a) => [x.name, a.metric, `${a.statistic} ${a.bound === 'max' ? '<=' : '>='} ${a.limit}`, a.value, a.pass ? 'pass' : 'FAIL']),
  );
}

function metricRows(r: LabRunReport): unknown[][] {
  return r.experiments.flatMap((x) =>
    Object.entries(x.metrics).map(([name, m]) => {
      const s = m.summary;
      return [x.name, `${name} (${m.unit})`, s['count'], s['mean'], s['stddev'], s['p50'], s['p95'], s['min'], s['max']];
    }),
  );
}

const STYLE = `body{font-family:'DejaVu Sans','Liberation Sans',sans-serif;margin:2em auto;max-width:72em;color:#222;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:.25em .6em;text-align:left;font-size:.9em}
th{background:#f4f4f4}.passed{color:#1a7f37}.failed,.error{color:#cf222e}figure{margin:1.5em 0}
figcaption{font-size:.9em;color:#555}.none{color:#777}svg{max-width:100%;height:auto}`;

export function reportHtml(r: LabRunReport, figures: readonly Figure[]): string {
  const events = r.schedule?.events ?? [];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>lab ${esc(r.lab)}: ${esc(r.status)}</title>
<style>${STYLE}</style></head><body>
<h1>Lab <code>${esc(r.lab)}</code>: <span class="${esc(r.status)}">${esc(r.status)}</span> (exit ${esc(r.exitCode)})</h1>
<p>From ${esc(r.startedAt)} to ${esc(r.finishedAt)} on ${esc(r.kernel)}. The data: <a href="report.json">report.json</a>.</p>
<h2>Assertions</h2>
${table(['experiment', 'metric', 'expected', 'measured', 'result'], assertionRows(r))}
<h2>Measurements</h2>
${table(['experiment', 'metric', 'count', 'mean', 'stddev', 'p50', 'p95', 'min', 'max'], metricRows(r))}
<h2>Links</h2>
${table(
  ['link', 'end', 'impairment', 'engines', 'up', 'tx packets', 'rx packets', 'rate drops', 'loss drops'],
  r.links.flatMap((l) =>
    l.ends.map((e) => [l.link, e.endpoint, e.impairment, e.engines.join(', '), e.up ? 'yes' : 'no', e.txPackets, e.rxPackets, e.rateDrops, e.lossDrops]),
  ),
)}
<h2>Schedule</h2>
${table(
  ['at (ms)', 'end', 'change', 'applied (ms)', 'late (ms)', 'error'],
  events.map((e) => [e.at, e.endpoint, e.change, e.appliedMs ?? '-', e.lateMs ?? '-', e.error ?? '']),
)}
<h2>Figures</h2>
${figures.map((f) => `<figure>${f.svg.replace(/^<\?xml[^>]*>\s*/u, '')}<figcaption>${esc(f.title)} (<a href="${esc(f.png)}">PNG</a>)</figcaption></figure>`).join('\n')}
</body></html>
`;
}
