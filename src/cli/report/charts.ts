/**
 * The report's charts as Vega-Lite specifications, from a lab run's report: RTT over time and loss per interval
 * (ping and matrix experiments), throughput over time (iperf3), each with the scheduled events marked where they
 * landed; and the ping matrix as a heat map. Times are seconds from the run's start.
 */
import type { ExperimentReport, LabRunReport } from '../../api/labs.js';

export interface Chart {
  /** The file name's stem, and the figure's id in the page. */
  readonly id: string;
  readonly title: string;
  /** A Vega-Lite specification (JSON). */
  readonly spec: Spec;
}

/** Vega-Lite's JSON, checked by Vega-Lite's compiler when rendered. */
export type Spec = Record<string, unknown>;

interface Marker {
  readonly t: number;
  readonly label: string;
  /** The label's line at the chart's top: neighbours' labels on different lines. */
  readonly row: number;
}

const WIDTH = 640;
const HEIGHT = 220;
const slug = (s: string): string => s.replace(/[^a-zA-Z0-9_-]+/gu, '-');

/** The schedule's events, in seconds from the run's start (the schedule starts at the deploy, before the run). */
export function eventMarkers(report: LabRunReport): Marker[] {
  if (!report.schedule) return [];
  const offset = Date.parse(report.schedule.startedAt) - Date.parse(report.startedAt);
  return report.schedule.events.map((e, i) => ({ t: (offset + (e.appliedMs ?? e.at)) / 1000, label: `${e.endpoint} ${e.change}`, row: i % 4 }));
}

/** A chart's layers with the events as labelled vertical rules, when there are any inside its time range. */
function withEvents(base: Record<string, unknown>, markers: readonly Marker[], range: readonly [number, number]): Spec {
  const inside = markers.filter((m) => m.t >= range[0] && m.t <= range[1]);
  const x = { field: 't', type: 'quantitative', title: 'time since the run started (s)' };
  if (!inside.length) return { width: WIDTH, height: HEIGHT, ...base };
  return {
    width: WIDTH,
    height: HEIGHT,
    layer: [
      base,
      { data: { values: inside }, mark: { type: 'rule', color: '#d62728', strokeDash: [4, 3] }, encoding: { x } },
      {
        data: { values: inside },
        mark: { type: 'text', color: '#d62728', align: 'left', baseline: 'top', dx: 3, dy: 3, fontSize: 10 },
        encoding: { x, y: { field: 'y', type: 'quantitative', scale: null }, text: { field: 'label' } },
        transform: [{ calculate: 'datum.row * 13', as: 'y' }],
      },
    ],
  };
}

function timeRange(samples: readonly { t: number }[]): [number, number] {
  return samples.length ? [samples[0]!.t / 1000, samples[samples.length - 1]!.t / 1000] : [0, 0];
}

function rttChart(x: ExperimentReport, markers: readonly Marker[]): Chart | undefined {
  const rtt = x.metrics['rtt_ms'];
  if (!rtt?.samples.length) return undefined;
  const values = rtt.samples.map((s) => ({ t: s.t / 1000, v: s.v }));
  const base = {
    data: { values },
    // Many probes as dots (a line through them hides the spread), few as a line with its points.
    mark: values.length > 400 ? { type: 'point', size: 8, filled: true } : { type: 'line', point: { size: 16, filled: true } },
    encoding: {
      x: { field: 't', type: 'quantitative', title: 'time since the run started (s)' },
      y: { field: 'v', type: 'quantitative', title: 'RTT (ms)' },
    },
  };
  return { id: `${slug(x.name)}-rtt`, title: `${x.name}: RTT over time`, spec: withEvents(base, markers, timeRange(rtt.samples)) };
}

function lossChart(x: ExperimentReport, markers: readonly Marker[]): Chart | undefined {
  const loss = x.metrics['loss_pct'];
  if (!loss?.samples.length) return undefined;
  const [from, to] = timeRange(loss.samples);
  // About 20 intervals over the experiment, none shorter than 100 ms.
  const width = Math.max(0.1, (to - from) / 20);
  const bins = new Map<number, { lost: number; n: number }>();
  for (const s of loss.samples) {
    const k = Math.floor((s.t / 1000 - from) / width);
    const b = bins.get(k) ?? { lost: 0, n: 0 };
    bins.set(k, { lost: b.lost + (s.v > 0 ? 1 : 0), n: b.n + 1 });
  }
  const values = [...bins].map(([k, b]) => ({ t: from + k * width, t2: from + (k + 1) * width, v: (100 * b.lost) / b.n, n: b.n }));
  const base = {
    data: { values },
    mark: { type: 'rect', color: '#ff7f0e', stroke: 'white', strokeWidth: 0.5 },
    encoding: {
      x: { field: 't', type: 'quantitative', title: 'time since the run started (s)' },
      x2: { field: 't2' },
      y: { field: 'v', type: 'quantitative', title: 'loss (% of probes)', scale: { domainMin: 0 } },
      y2: { datum: 0 },
    },
  };
  return {
    id: `${slug(x.name)}-loss`,
    title: `${x.name}: loss per ${Math.round(width * 1000)} ms interval`,
    spec: withEvents(base, markers, [from, to + width]),
  };
}

function throughputChart(x: ExperimentReport, markers: readonly Marker[]): Chart | undefined {
  const tp = x.metrics['throughput_mbit'];
  if (!tp?.samples.length) return undefined;
  const base = {
    data: { values: tp.samples.map((s) => ({ t: s.t / 1000, v: s.v })) },
    mark: { type: 'line', color: '#2ca02c', point: { color: '#2ca02c' } },
    encoding: {
      x: { field: 't', type: 'quantitative', title: 'time since the run started (s)' },
      y: { field: 'v', type: 'quantitative', title: 'throughput (Mbit/s)', scale: { domainMin: 0 } },
    },
  };
  return { id: `${slug(x.name)}-throughput`, title: `${x.name}: throughput over time`, spec: withEvents(base, markers, timeRange(tp.samples)) };
}

function matrixChart(x: ExperimentReport): Chart | undefined {
  if (!x.matrix?.length) return undefined;
  const values = x.matrix.map((c) => ({
    ...c,
    label: c.received ? `${c.rttMs} ms${c.lossPct ? `, ${c.lossPct}% lost` : ''}` : 'no answer',
  }));
  const size = Math.max(240, 60 * new Set(x.matrix.map((c) => c.to)).size);
  const spec = {
    width: size,
    height: size,
    data: { values },
    encoding: {
      x: { field: 'to', type: 'nominal', title: 'to', axis: { labelAngle: 0 } },
      y: { field: 'from', type: 'nominal', title: 'from' },
    },
    layer: [
      { mark: 'rect', encoding: { color: { field: 'rttMs', type: 'quantitative', title: 'median RTT (ms)', scale: { scheme: 'blues' } } } },
      { mark: { type: 'text', fontSize: 10 }, encoding: { text: { field: 'label' }, color: { value: '#222' } } },
    ],
  };
  return { id: `${slug(x.name)}-matrix`, title: `${x.name}: ping matrix (median RTT, loss)`, spec: spec };
}

/** Every chart the report has data for, experiment by experiment. */
export function reportCharts(report: LabRunReport): Chart[] {
  const markers = eventMarkers(report);
  return report.experiments.flatMap((x) =>
    [rttChart(x, markers), lossChart(x, markers), throughputChart(x, markers), matrixChart(x)].filter((c): c is Chart => c !== undefined),
  );
}
