import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { RunFacts } from './run-facts.ts';

const FONT = 'DejaVu Sans';
const fontFile = join(
  createRequire(import.meta.url).resolve('dejavu-fonts-ttf/package.json'),
  '..',
  'ttf',
  'DejaVuSans.ttf',
);
/** A chart of a soak must not carry a million points: every reload up to this, then a stride. */
const MAX_POINTS = 5000;

function thin<T>(values: readonly T[]): T[] {
  if (values.length <= MAX_POINTS) return [...values];
  const stride = Math.ceil(values.length / MAX_POINTS);
  return values.filter((_, index) => index % stride === 0);
}

/**
 * The run over time, as a Vega-Lite spec (pure): reload barrier and reconnect durations, endpoints
 * connected, and each incident as a red rule at its first sighting, on one time axis.
 */
export function timelineSpec(facts: RunFacts): TopLevelSpec {
  const reloads = thin(
    facts.reloads.flatMap((r) => [
      ...(r.barrierMs === undefined
        ? []
        : [{ at: r.at, ms: r.barrierMs, what: 'barrier', master: r.master }]),
      ...(r.reconnectMs === undefined
        ? []
        : [{ at: r.at, ms: r.reconnectMs, what: 'all reconnected', master: r.master }]),
      ...(r.ok ? [] : [{ at: r.at, ms: 0, what: 'failed', master: r.master }]),
    ]),
  );
  const status = thin(facts.status);
  const incidents = facts.ledger
    .list()
    .map((i) => ({ at: i.firstSeen, label: `#${i.id} ${i.kind}${i.master ? `@${i.master}` : ''}` }));
  const time = { field: 'at', type: 'temporal' as const, title: 'time (UTC)', axis: { format: '%H:%M:%S' } };
  const incidentRules = {
    data: { values: incidents },
    mark: { type: 'rule' as const, color: '#d62728', strokeWidth: 2 },
    encoding: { x: time },
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: `${String(facts.meta.scenario ?? 'run')} ${String(facts.meta.id ?? '')}`, fontSize: 13 },
    config: { font: FONT, view: { stroke: '#ccc' } },
    resolve: { scale: { x: 'shared' } },
    vconcat: [
      {
        width: 760,
        height: 220,
        title: 'reload durations (red rules: incidents)',
        layer: [
          {
            data: { values: reloads },
            mark: { type: 'point', filled: true, size: 18, opacity: 0.7 },
            encoding: {
              x: time,
              y: { field: 'ms', type: 'quantitative', title: 'ms', scale: { zero: true } },
              color: { field: 'what', type: 'nominal', title: null, legend: { orient: 'top' } },
            },
          },
          incidentRules,
        ],
      },
      {
        width: 760,
        height: 120,
        title: 'simulated endpoints connected',
        layer: [
          {
            data: { values: status },
            mark: { type: 'line', color: '#1f77b4', point: { size: 10 } },
            encoding: {
              x: time,
              y: {
                field: 'endpointsConnected',
                type: 'quantitative',
                title: 'connected',
                scale: { zero: true },
              },
            },
          },
          incidentRules,
        ],
      },
    ],
  } as TopLevelSpec;
}

/** The spec rendered as SVG by Vega, and as PNG by resvg (GitHub shows an attached PNG inline). */
export async function renderTimeline(spec: TopLevelSpec): Promise<{ svg: string; png: Buffer }> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    const png = new Resvg(svg, {
      background: 'white',
      fitTo: { mode: 'zoom', value: 2 },
      font: { fontFiles: [fontFile], loadSystemFonts: false, defaultFontFamily: FONT, sansSerifFamily: FONT },
    })
      .render()
      .asPng();
    return { svg, png };
  } finally {
    view.finalize();
  }
}
