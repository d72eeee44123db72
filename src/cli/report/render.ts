/**
 * Pictures from charts: Vega-Lite compiled to Vega, drawn as SVG by Vega's headless renderer, and the SVG drawn as a
 * PNG by resvg (both from the npm registry; no browser and no canvas needed). Text is drawn with the system's fonts.
 */
import { Resvg } from '@resvg/resvg-js';
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { Spec } from './charts.js';

const CONFIG = { font: 'DejaVu Sans, Liberation Sans, sans-serif', background: 'white', view: { stroke: '#ddd' } };

export async function chartSvg(spec: Spec, title: string): Promise<string> {
  const vl = compile({ ...spec, title, config: CONFIG } as unknown as TopLevelSpec).spec;
  const view = new View(parse(vl), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** The SVG at twice its size, on white, for screens with dense pixels and for documents. */
export function svgToPng(svg: string): Buffer {
  return new Resvg(svg, { background: 'white', fitTo: { mode: 'zoom', value: 2 }, font: { loadSystemFonts: true } }).render().asPng();
}
