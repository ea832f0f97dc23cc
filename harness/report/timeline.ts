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
/** A chart of a soak must not carry a million points: every step up to this, then a stride. */
const MAX_POINTS = 5000;

function thin<T>(values: readonly T[]): T[] {
  if (values.length <= MAX_POINTS) return [...values];
  const stride = Math.ceil(values.length / MAX_POINTS);
  return values.filter((_, index) => index % stride === 0);
}

/**
 * The run over time, as a Vega-Lite spec (pure), the panels the run has data for: its steps'
 * phase durations, and its clients connected (a system with step figures), requests per second
 * and log lines per second (a load generator's), with each fault as an orange band and each
 * incident as a red rule at its first sighting, on one time axis.
 */
export function timelineSpec(facts: RunFacts): TopLevelSpec {
  const stepSamples = facts.steps?.samples ?? [];
  const phases = Object.keys(facts.steps?.phases ?? {});
  const durations = thin(
    stepSamples.flatMap((step) => [
      ...phases.flatMap((phase) => {
        const ms = step.phasesMs[phase];
        return ms === undefined ? [] : [{ at: step.at, ms, what: phase, node: step.node }];
      }),
      ...(step.ok ? [] : [{ at: step.at, ms: 0, what: 'failed', node: step.node }]),
    ]),
  );
  // From the moment the target was up: the status of an image build is minutes of nothing.
  const from = facts.targetStartedAt;
  const status = thin(from === undefined ? facts.status : facts.status.filter((point) => point.at >= from));
  const incidents = facts.ledger
    .list()
    .map((i) => ({ at: i.firstSeen, label: `#${i.id} ${i.kind}${i.node ? `@${i.node}` : ''}` }));
  const time = { field: 'at', type: 'temporal' as const, title: 'time (UTC)', axis: { format: '%H:%M:%S' } };
  const incidentRules = {
    data: { values: incidents },
    mark: { type: 'rule' as const, color: '#d62728', strokeWidth: 2 },
    encoding: { x: time },
  };
  const faultWindows = facts.faults
    .filter((fault) => fault.healedAt !== undefined)
    .map((fault) => ({ at: fault.at, until: fault.healedAt, label: `${fault.nemesis}@${fault.node}` }));
  const faultBands = {
    data: { values: faultWindows },
    mark: { type: 'rect' as const, color: '#ff7f0e', opacity: 0.15 },
    encoding: { x: time, x2: { field: 'until' } },
  };
  const panel = (title: string, height: number, layer: object) => ({
    width: 760,
    height,
    title,
    layer: [...(faultWindows.length > 0 ? [faultBands] : []), layer, incidentRules],
  });
  const panels: object[] = [];
  const withLoad = facts.load.length > 0;
  if (stepSamples.length > 0 || (facts.steps && !withLoad))
    panels.push(
      panel(`durations of ${facts.steps?.unit ?? 'steps'} (red rules: incidents)`, 220, {
        data: { values: durations },
        mark: { type: 'point', filled: true, size: 18, opacity: 0.7 },
        encoding: {
          x: time,
          y: { field: 'ms', type: 'quantitative', title: 'ms', scale: { zero: true } },
          color: { field: 'what', type: 'nominal', title: null, legend: { orient: 'top' } },
        },
      }),
    );
  if (!withLoad)
    panels.push(
      panel(`${status.at(-1)?.clientsLabel ?? 'clients'} connected`, 120, {
        data: { values: status },
        mark: { type: 'line', color: '#1f77b4', point: { size: 10 } },
        encoding: {
          x: time,
          y: { field: 'clientsConnected', type: 'quantitative', title: 'connected', scale: { zero: true } },
        },
      }),
    );
  if (withLoad) {
    const throughput = thin(
      facts.load.flatMap((p) => [
        { at: p.at, perSecond: p.completed, what: `completed (${p.node})` },
        { at: p.at, perSecond: p.keepAliveCompleted, what: 'on keep-alive connections' },
        { at: p.at, perSecond: p.freshCompleted, what: 'on new connections' },
        { at: p.at, perSecond: p.timeouts, what: 'timed out' },
      ]),
    );
    panels.push(
      panel('requests per second (orange: faults, red rules: incidents)', 200, {
        data: { values: throughput },
        mark: { type: 'line', strokeWidth: 1.5 },
        encoding: {
          x: time,
          y: { field: 'perSecond', type: 'quantitative', title: 'per second', scale: { zero: true } },
          color: { field: 'what', type: 'nominal', title: null, legend: { orient: 'top' } },
        },
      }),
    );
  }
  if (facts.logRate.length > 0)
    panels.push(
      panel('log lines per second', 120, {
        data: { values: thin(facts.logRate) },
        mark: { type: 'line', color: '#2ca02c' },
        encoding: {
          x: time,
          y: { field: 'lines', type: 'quantitative', title: 'lines', scale: { zero: true } },
          detail: { field: 'node' },
        },
      }),
    );
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: `${String(facts.meta.scenario ?? 'run')} ${String(facts.meta.id ?? '')}`, fontSize: 13 },
    config: { font: FONT, view: { stroke: '#ccc' } },
    resolve: { scale: { x: 'shared' } },
    vconcat: panels,
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
