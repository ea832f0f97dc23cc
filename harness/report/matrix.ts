import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCodes, HuntError } from '../errors.ts';
import { writeFileAtomic } from '../fs-atomic.ts';
import type { Detector } from '../observe/detector.ts';
import { type RunManifest, targetOf } from '../run/manifest.ts';
import { linearSlope, mannWhitneyGreater, medianInterval, percentile, wilsonInterval } from '../stats.ts';
import { type AdvisoryFinding, type RunFacts, readRunFacts } from './run-facts.ts';

/** A timing measure of one cell: median with its 95% interval, and the 99th percentile. */
export interface Timing {
  n: number;
  p50: number | null;
  p50Low: number | null;
  p50High: number | null;
  p99: number | null;
  /** The samples, sorted (at most MAX_TIMING_SAMPLES, evenly thinned): a baseline compares against them. */
  samples: number[];
}

/** One target (an Icinga version or a named image): every run of it, pooled. */
export interface MatrixCell {
  target: string;
  /** The grid's parameters of this cell (those that differ between the matrix's runs). */
  grid?: Record<string, unknown>;
  /** The system under test ('icinga', 'stunnel') and the version its runs report. */
  system?: string | null;
  version?: string | null;
  icingaVersion: string | null;
  opensslVersion: string | null;
  runs: Array<{ id: string; status: string }>;
  reloads: number;
  verified: number;
  incidents: number;
  incidentsByKind: Record<string, number>;
  /** Wilson 95%: with zero incidents still an upper bound. */
  incidentsPer1000Reloads: { rate: number; low: number; high: number } | null;
  barrierMs: Timing;
  reconnectMs: Timing;
  /** Least-squares slope of RSS over reloads after the warm-up (KB per 1,000 reloads): a leak shows as a steady rise. */
  rssTrendKbPer1000Reloads: { master: number | null; harness: number | null };
  /** Systems with a load generator: the median second's completions, timeouts, and the stalls and silences seen (seconds). */
  load?: {
    completedPerSecond: number;
    timeouts: number;
    stallsS: number[];
    silencesS: number[];
  } | null;
  /** Disruption windows opened, per kind, all nodes and runs together (reloads apart). */
  disruptions?: Record<string, number>;
  /** The matrix's unit disruption when it is not a reload (context swaps): rates per 1,000 of them. */
  perDisruption?: DisruptionRates;
  /**
   * Per incident that was probed: whether the failure outlived its cause (the field's "until a
   * restart"), which remedy brought the node back (a reload, or only a restart) and how long it took.
   */
  persistence?: Array<{
    run: string;
    kind: string;
    node: string;
    state: string;
    recoveredAfterMs?: number;
    /** The remedy that recovered it: 'reload' or 'restart' (runs before reloads were tried: restart). */
    recoveredBy?: string;
  }>;
  /** What the scenario measured (`measure:value`), the median of the cell's runs per name. */
  measures?: Record<string, number>;
  /** Advisories checked in the cell's runs: affected when any run found the target affected. */
  advisories?: AdvisoryFinding[];
}

/** Failures per disruption of one kind: how many disruptions a run took before its first incident. */
export interface DisruptionRates {
  kind: string;
  count: number;
  /** Runs with at least one incident. */
  failedRuns: number;
  /**
   * Failed runs per 1,000 disruptions, Wilson 95%: each disruption one trial, a failed run's
   * counted up to its failure (what came after tested nothing new).
   */
  failuresPer1000: { rate: number; low: number; high: number } | null;
  /** Per run: the disruptions before its first incident, or all of them when none came (censored). */
  toFailure: Array<{ run: string; disruptions: number; failed: boolean }>;
}

export interface Regression {
  target: string;
  measure: string;
  baseline: string;
  current: string;
}

/** matrix.json: derived from run folders alone, so `hunt merge` of the same runs gives the same. */
export interface Matrix {
  kind: 'handshake-hunter-matrix';
  version: 1;
  scenario: string;
  /** The parameters every run shared; those that differ are the grid's, per cell. */
  params: Record<string, unknown>;
  /** The names of the grid's parameters (in the order the cells vary them). */
  grid?: string[];
  /** The disruption the rates count when it is not a reload (the kind most runs had most of). */
  unit?: string;
  cells: MatrixCell[];
  /** Filled by compareToBaseline. */
  baseline?: { scenario: string; params: Record<string, unknown>; targets: string[] };
  regressions: Regression[];
}

/** A timing is worse only when the rank test says so and the median grew by more than this. */
export const TIMING_TOLERANCE = 1.2;
/** The rank test's significance level (one-sided). */
export const TIMING_ALPHA = 0.01;
const MAX_TIMING_SAMPLES = 5000;

/** Reads each run folder (re-detecting its incidents, as `hunt report` does) and builds the matrix. */
export async function matrixOfRuns(
  dirs: readonly string[],
  knownDetectors: readonly Detector[],
): Promise<Matrix> {
  if (dirs.length === 0) throw new HuntError(ErrorCodes.USAGE, 'Name at least one run folder.');
  const facts: RunFacts[] = [];
  for (const dir of dirs) facts.push(await readRunFacts(dir, knownDetectors));
  return buildMatrix(facts);
}

/**
 * Pure: the runs' facts in, the matrix out. Runs of one target with the same parameters are
 * pooled into one cell; parameters that differ between runs make a grid (one cell per target and
 * combination of their values).
 */
export function buildMatrix(runs: readonly RunFacts[]): Matrix {
  const first = runs[0];
  if (!first) throw new HuntError(ErrorCodes.USAGE, 'A matrix needs at least one run.');
  const scenario = String(first.meta.scenario);
  for (const run of runs) {
    if (String(run.meta.scenario) !== scenario)
      throw new HuntError(
        ErrorCodes.USAGE,
        `A matrix combines runs of one scenario: ${run.dir} ran ${String(run.meta.scenario)}, not ${scenario}.`,
      );
  }
  const paramsOf = (run: RunFacts) => (run.meta.params ?? {}) as Record<string, unknown>;
  const names = [...new Set(runs.flatMap((run) => Object.keys(paramsOf(run))))].sort();
  const grid = names.filter((name) => {
    const values = new Set(runs.map((run) => JSON.stringify(paramsOf(run)[name] ?? null)));
    return values.size > 1;
  });
  const shared = Object.fromEntries(Object.entries(paramsOf(first)).filter(([name]) => !grid.includes(name)));
  const groups = new Map<string, { target: string; grid: Record<string, unknown>; runs: RunFacts[] }>();
  for (const run of runs) {
    const values = Object.fromEntries(grid.map((name) => [name, paramsOf(run)[name] ?? null]));
    const target = targetName(run.meta);
    const key = cellKey({ target, grid: values });
    const group = groups.get(key) ?? { target, grid: values, runs: [] };
    group.runs.push(run);
    groups.set(key, group);
  }
  const unit = unitDisruption(runs);
  return {
    kind: 'handshake-hunter-matrix',
    version: 1,
    scenario,
    params: shared,
    ...(grid.length > 0 ? { grid } : {}),
    ...(unit ? { unit } : {}),
    cells: [...groups.values()].map((group) => ({
      ...buildCell(group.target, group.runs, unit),
      ...(grid.length > 0 ? { grid: group.grid } : {}),
    })),
    regressions: [],
  };
}

/** A cell's name in a baseline comparison: its target and its grid values. */
export function cellKey(cell: { target: string; grid?: Record<string, unknown> }): string {
  const values = Object.entries(cell.grid ?? {}).map(([name, value]) => `${name}=${String(value)}`);
  return [cell.target, ...values].join(' ');
}

/**
 * The disruption the runs are about when it is not a reload: the non-reload kind with the most
 * windows in all, when there are more of them than reloads (a race hunt's context swaps).
 */
function unitDisruption(runs: readonly RunFacts[]): string | undefined {
  // Only what the system did itself: a nemesis's faults and a remedy's restarts are causes, not trials.
  const totals = new Map<string, number>();
  for (const run of runs)
    for (const [kind, count] of Object.entries(run.ownDisruptions))
      if (kind !== 'reload') totals.set(kind, (totals.get(kind) ?? 0) + count);
  const reloads = runs.reduce((sum, run) => sum + run.reloads.length, 0);
  const [kind, count] = [...totals].sort((a, b) => b[1] - a[1])[0] ?? [];
  return kind !== undefined && (count ?? 0) > reloads ? kind : undefined;
}

function disruptionRates(kind: string, runs: readonly RunFacts[]): DisruptionRates {
  const toFailure = runs.map((run) => {
    const all = run.ownDisruptions[kind] ?? 0;
    const first = run.ledger
      .list()
      .map((incident) => incident.firstSeen)
      .sort()[0];
    if (first === undefined) return { run: run.meta.id, disruptions: all, failed: false };
    const times = run.disruptionTimes[kind] ?? [];
    return { run: run.meta.id, disruptions: times.filter((at) => at < first).length, failed: true };
  });
  const count = runs.reduce((sum, run) => sum + (run.ownDisruptions[kind] ?? 0), 0);
  const failedRuns = toFailure.filter((run) => run.failed).length;
  // The trials: a failed run's swaps up to its failure (at least the one that did it), every
  // swap of a run that never failed. What came after a run's failure tested nothing new.
  const trials = toFailure.reduce(
    (sum, run) => sum + (run.failed ? Math.max(1, run.disruptions) : run.disruptions),
    0,
  );
  return {
    kind,
    count,
    failedRuns,
    failuresPer1000: roundRate(wilsonInterval(failedRuns, trials, 1000)),
    toFailure,
  };
}

/** One finding per advisory: affected when any run found it so (with that run's evidence). */
function advisoriesOf(runs: readonly RunFacts[]): AdvisoryFinding[] {
  const byAdvisory = new Map<string, AdvisoryFinding>();
  for (const finding of runs.flatMap((run) => run.advisories)) {
    const known = byAdvisory.get(finding.advisory);
    if (!known || (finding.affected && !known.affected)) byAdvisory.set(finding.advisory, finding);
  }
  return [...byAdvisory.values()];
}

function targetName(meta: RunManifest): string {
  const target = targetOf(meta);
  return target.image ?? target.version ?? 'unknown';
}

function buildCell(target: string, runs: RunFacts[], unit: string | undefined): MatrixCell {
  const stack = runs[0]?.meta.stack ?? {};
  const reloads = runs.flatMap((run) => run.reloads);
  const ok = reloads.filter((reload) => reload.ok);
  const incidentsByKind: Record<string, number> = {};
  let incidents = 0;
  for (const run of runs)
    for (const incident of run.ledger.list()) {
      incidentsByKind[incident.kind] = (incidentsByKind[incident.kind] ?? 0) + 1;
      incidents++;
    }
  const seconds = (kind: string) =>
    runs.flatMap((run) =>
      run.ledger
        .list()
        .filter((incident) => incident.kind === kind)
        .map((incident) => Math.round(Number(incident.findings.durationMs ?? Number.NaN) / 100) / 10)
        .filter(Number.isFinite),
    );
  const loadPoints = runs.flatMap((run) => run.load);
  const disruptions: Record<string, number> = {};
  for (const run of runs)
    for (const [kind, byNode] of Object.entries(run.disruptions))
      disruptions[kind] = (disruptions[kind] ?? 0) + Object.values(byNode).reduce((a, b) => a + b, 0);
  const advisories = advisoriesOf(runs);
  const measured = new Map<string, number[]>();
  for (const run of runs)
    for (const [name, values] of Object.entries(run.measures))
      measured.set(name, [...(measured.get(name) ?? []), ...values]);
  const persistence = runs.flatMap((run) =>
    run.ledger.list().flatMap((incident) => {
      const found = incident.findings.persistence as
        | { state?: unknown; remedy?: { recoveredAfterMs?: unknown; action?: unknown } }
        | undefined;
      if (typeof found?.state !== 'string') return [];
      const recovered = found.remedy?.recoveredAfterMs;
      const by = found.remedy?.action;
      return [
        {
          run: run.meta.id,
          kind: incident.kind,
          node: incident.node ?? '',
          state: found.state,
          ...(typeof recovered === 'number'
            ? { recoveredAfterMs: recovered, recoveredBy: typeof by === 'string' ? by : 'restart' }
            : {}),
        },
      ];
    }),
  );
  return {
    ...(persistence.length > 0 ? { persistence } : {}),
    ...(measured.size > 0
      ? {
          measures: Object.fromEntries(
            [...measured].map(([name, values]) => [name, round(percentile(values, 50))] as const),
          ),
        }
      : {}),
    target,
    disruptions,
    ...(unit ? { perDisruption: disruptionRates(unit, runs) } : {}),
    ...(advisories.length > 0 ? { advisories } : {}),
    system: targetOf(runs[0]?.meta ?? ({} as RunManifest)).system ?? null,
    version: String(stack.icingaVersion ?? stack.stunnelVersion ?? '') || null,
    load:
      loadPoints.length === 0
        ? null
        : {
            completedPerSecond: percentile(
              loadPoints.map((point) => point.completed),
              50,
            ),
            timeouts: loadPoints.reduce((sum, point) => sum + point.timeouts, 0),
            stallsS: seconds('throughput-stall'),
            silencesS: seconds('log-silence'),
          },
    icingaVersion: stack.icingaVersion ?? null,
    opensslVersion: stack.opensslVersion ?? null,
    runs: runs.map((run) => ({ id: run.meta.id, status: runStatus(run.meta) })),
    reloads: reloads.length,
    verified: ok.length,
    incidents,
    incidentsByKind: Object.fromEntries(Object.entries(incidentsByKind).sort()),
    incidentsPer1000Reloads: roundRate(wilsonInterval(incidents, reloads.length, 1000)),
    barrierMs: timing(ok.flatMap((r) => (r.barrierMs === undefined ? [] : [r.barrierMs]))),
    reconnectMs: timing(ok.flatMap((r) => (r.reconnectMs === undefined ? [] : [r.reconnectMs]))),
    rssTrendKbPer1000Reloads: {
      // Per master: two workers' different sizes are not a trend. The cell shows the steepest.
      master: steepest(
        runs.flatMap((run) => {
          const byMaster = new Map<string, Array<{ x: number; y: number }>>();
          for (const point of settled(run, run.masterRss))
            byMaster.set(point.master ?? '', [
              ...(byMaster.get(point.master ?? '') ?? []),
              { x: point.reloadsDone, y: point.rssKb },
            ]);
          return [...byMaster.values()];
        }),
      ),
      harness: steepest(
        runs.map((run) => settled(run, run.harnessRss).map((p) => ({ x: p.reloadsDone, y: p.rssKb }))),
      ),
    },
  };
}

/**
 * The points after the warm-up (the first 20% of the run's reloads, at least 10): a process
 * growing to its working size (connections, caches, the heap) is not a leak; what grows after is.
 */
function settled<T extends { reloadsDone: number }>(run: RunFacts, points: readonly T[]): T[] {
  const warm = Math.max(10, Math.floor(run.reloads.length * 0.2));
  return points.filter((point) => point.reloadsDone >= warm);
}

/** Each series' slope (KB per 1,000 reloads, within its own run); the steepest, as a leak shows in any. */
function steepest(series: Array<Array<{ x: number; y: number }>>): number | null {
  const slopes = series.flatMap((points) => {
    const slope = linearSlope(points);
    return slope === undefined ? [] : [slope * 1000];
  });
  return slopes.length === 0 ? null : round(Math.max(...slopes));
}

function runStatus(meta: RunManifest): string {
  return meta.outcome?.status ?? 'incomplete';
}

function timing(values: number[]): Timing {
  if (values.length === 0) return { n: 0, p50: null, p50Low: null, p50High: null, p99: null, samples: [] };
  const interval = medianInterval(values);
  const sorted = [...values].sort((a, b) => a - b);
  const step = Math.max(1, sorted.length / MAX_TIMING_SAMPLES);
  const samples: number[] = [];
  for (let i = 0; i < sorted.length && samples.length < MAX_TIMING_SAMPLES; i += step)
    samples.push(round(sorted[Math.floor(i)] as number));
  return {
    n: values.length,
    p50: round(percentile(values, 50)),
    p50Low: interval ? round(interval.low) : null,
    p50High: interval ? round(interval.high) : null,
    p99: round(percentile(values, 99)),
    samples,
  };
}

const round = (value: number) => Math.round(value * 10) / 10;

function roundRate(interval: { rate: number; low: number; high: number } | undefined) {
  if (!interval) return null;
  const r = (value: number) => Math.round(value * 1000) / 1000;
  return { rate: r(interval.rate), low: r(interval.low), high: r(interval.high) };
}

/**
 * Regressions of `current` against `baseline`, target by target: worse beyond the intervals.
 * Incidents: the current rate's lower bound above the baseline's upper bound. Timings (reload
 * barrier, reconnect): a one-sided Mann-Whitney test says the current samples are larger
 * (p < TIMING_ALPHA) and the median grew by more than TIMING_TOLERANCE (a shared machine's noise
 * between runs is not a regression). The rank test reads whole distributions: reconnects are
 * bimodal (Icinga's 10 s reconnect timer), and a median's interval then spans both modes.
 */
export function compareToBaseline(current: Matrix, baseline: Matrix): Matrix {
  const regressions: Regression[] = [];
  for (const cell of current.cells) {
    const before = baseline.cells.find((candidate) => cellKey(candidate) === cellKey(cell));
    if (!before) continue;
    const now = cell.incidentsPer1000Reloads;
    const then = before.incidentsPer1000Reloads;
    if (now && then && now.low > then.high)
      regressions.push({
        target: cellKey(cell),
        measure: 'incidents per 1,000 reloads',
        baseline: `${then.rate} (95% ${then.low}-${then.high})`,
        current: `${now.rate} (95% ${now.low}-${now.high})`,
      });
    for (const [measure, key] of [
      ['reload barrier p50 (ms)', 'barrierMs'],
      ['reconnect p50 (ms)', 'reconnectMs'],
    ] as const) {
      const a = before[key];
      const b = cell[key];
      if (a.p50 === null || b.p50 === null) continue;
      const p = mannWhitneyGreater(a.samples ?? [], b.samples);
      if (p !== undefined && p < TIMING_ALPHA && b.p50 > a.p50 * TIMING_TOLERANCE)
        regressions.push({
          target: cellKey(cell),
          measure,
          baseline: `${a.p50} (95% ${a.p50Low}-${a.p50High}, n ${a.n})`,
          current: `${b.p50} (95% ${b.p50Low}-${b.p50High}, n ${b.n}; rank test p ${p < 0.0001 ? '< 0.0001' : p.toFixed(4)})`,
        });
    }
  }
  return {
    ...current,
    baseline: {
      scenario: baseline.scenario,
      params: baseline.params,
      targets: baseline.cells.map(cellKey),
    },
    regressions,
  };
}

/** A matrix.json read back (a --baseline file): checked enough to compare against. */
export function parseMatrix(text: string, source: string): Matrix {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new HuntError(
      ErrorCodes.BASELINE_INVALID,
      `${source} is not JSON (${(error as Error).message}): a baseline is a matrix.json written by hunt matrix or --save-baseline.`,
    );
  }
  const matrix = value as Partial<Matrix>;
  if (matrix?.kind !== 'handshake-hunter-matrix' || !Array.isArray(matrix.cells))
    throw new HuntError(
      ErrorCodes.BASELINE_INVALID,
      `${source} is not a matrix.json (no "kind": "handshake-hunter-matrix" with cells): write one with --save-baseline.`,
    );
  return matrix as Matrix;
}

const cellText = (value: number | null) => (value === null ? '-' : String(value));

/** matrix.md: the table a CI log or an issue shows, and the regressions against the baseline. */
export function renderMatrix(matrix: Matrix): string {
  const lines = [
    `# Matrix: ${matrix.scenario}`,
    '',
    Object.keys(matrix.params).length > 0
      ? `Parameters: ${Object.entries(matrix.params)
          .map(([k, v]) => `${k}=${v}`)
          .join(', ')}`
      : 'Parameters: the defaults',
    '',
  ];
  lines.push(...table(matrix));
  lines.push('');
  if (matrix.baseline) {
    lines.push(`## Against the baseline (${matrix.baseline.targets.join(', ')})`, '');
    if (matrix.regressions.length === 0)
      lines.push('No regression: no target is worse than the baseline beyond the intervals.');
    else {
      lines.push('| target | measure | baseline | now |', '| --- | --- | --- | --- |');
      for (const r of matrix.regressions)
        lines.push(`| ${r.target} | ${r.measure} | ${r.baseline} | **${r.current}** |`);
    }
    if (
      matrix.baseline.scenario !== matrix.scenario ||
      JSON.stringify(matrix.baseline.params) !== JSON.stringify(matrix.params)
    )
      lines.push(
        '',
        `Note: the baseline ran ${matrix.baseline.scenario} with ${JSON.stringify(matrix.baseline.params)}; ` +
          'the differences may come from that, not from the versions.',
      );
    const missing = matrix.cells.filter((cell) => !matrix.baseline?.targets.includes(cellKey(cell)));
    if (missing.length > 0)
      lines.push('', `Not in the baseline (not compared): ${missing.map(cellKey).join(', ')}.`);
    lines.push('');
  }
  lines.push(
    'Rates are Wilson 95% intervals (zero incidents still bound the rate from above); timing',
    'intervals are distribution-free 95% intervals of the median. A regression: the incident',
    `interval lies above the baseline's, or a timing is larger by a one-sided rank test (Mann-Whitney,`,
    `p < ${TIMING_ALPHA}) and its median grew more than ${Math.round((TIMING_TOLERANCE - 1) * 100)}%.`,
    '',
  );
  return lines.join('\n');
}

/** The matrix's table: per disruption (a race hunt), under load (stunnel), or per reload. */
function table(matrix: Matrix): string[] {
  const grid = matrix.grid ?? [];
  const advisories = [
    ...new Set(matrix.cells.flatMap((cell) => (cell.advisories ?? []).map((a) => a.advisory))),
  ];
  const probed = matrix.cells.some((cell) => cell.persistence);
  const measures = [...new Set(matrix.cells.flatMap((cell) => Object.keys(cell.measures ?? {})))];
  const extraHead = [
    ...grid,
    ...advisories,
    ...(probed ? ['persistence (recovered by, after)'] : []),
    ...measures,
  ];
  const persistenceOf = (cell: MatrixCell) =>
    (cell.persistence ?? [])
      .map((p) => {
        const recovered =
          p.recoveredAfterMs === undefined
            ? ''
            : ` (${p.recoveredBy ?? 'restart'}, ${Math.round(p.recoveredAfterMs / 100) / 10} s)`;
        return `${p.node} ${p.state}${recovered}`;
      })
      .join('<br>') || '-';
  const extra = (cell: MatrixCell) => [
    ...grid.map((name) => String(cell.grid?.[name] ?? '-')),
    ...advisories.map((id) => {
      const finding = cell.advisories?.find((a) => a.advisory === id);
      return finding ? `${finding.affected ? '**affected**' : 'not affected'}: ${finding.evidence}` : '-';
    }),
    ...(probed ? [persistenceOf(cell)] : []),
    ...measures.map((name) => (cell.measures?.[name] === undefined ? '-' : String(cell.measures[name]))),
  ];
  const row = (cells: readonly (string | number)[]) => `| ${cells.join(' | ')} |`;
  const rule = (n: number) => row(Array.from({ length: n }, () => '---'));
  const lay = (head: readonly string[], values: (cell: MatrixCell) => Array<string | number>) => [
    row(head),
    rule(head.length),
    ...matrix.cells.map((cell) => row(values(cell))),
  ];
  const runsOf = (cell: MatrixCell) =>
    cell.runs.map((run) => (run.status === 'passed' ? run.id : `${run.id} (${run.status})`)).join('<br>');
  const incidentsOf = (cell: MatrixCell) =>
    cell.incidents === 0
      ? '0'
      : `${cell.incidents}: ${Object.entries(cell.incidentsByKind)
          .map(([kind, count]) => `${count} ${kind}`)
          .join(', ')}`;
  // Three significant digits: an interval's width makes the fourth noise ("500 (150-850)").
  const sig = (value: number) => value.toLocaleString('en', { maximumSignificantDigits: 3 });
  const rate = (r: { rate: number; low: number; high: number } | null | undefined) =>
    r ? `${sig(r.rate)} (${sig(r.low)}-${sig(r.high)})` : '-';

  const underLoad = matrix.cells.length > 0 && matrix.cells.every((cell) => cell.load && cell.reloads === 0);
  if (matrix.unit && !underLoad) {
    const unit = matrix.unit;
    const head = ['target', ...extraHead, 'version', 'runs', `${unit}s`, 'incidents'];
    head.push(`failed runs per 1,000 ${unit}s (95%)`, `${unit}s to failure, per run`);
    const lines = lay(head, (cell) => {
      const rates = cell.perDisruption;
      return [
        cell.target,
        ...extra(cell),
        cell.version ?? cell.icingaVersion ?? '-',
        runsOf(cell),
        rates?.count ?? 0,
        incidentsOf(cell),
        rate(rates?.failuresPer1000),
        (rates?.toFailure ?? [])
          .map((run) => (run.failed ? `${run.disruptions}` : `>${run.disruptions}`))
          .join(', ') || '-',
      ];
    });
    lines.push(
      '',
      `A run fails at its first incident; ">n" is a run that took n ${unit}s without one (censored).`,
      `The rate counts each ${unit} as one trial: Wilson 95%, an upper bound when nothing failed.`,
    );
    return lines;
  }
  if (underLoad) {
    // A system under steady load (stunnel): the stalls and silences, not reloads.
    const head = [
      'target',
      ...extraHead,
      matrix.cells[0]?.system ?? 'version',
      'runs',
      'incidents',
      'stalls (s)',
      'log silences (s)',
      'completions per second (median)',
      'timeouts',
    ];
    return lay(head, (cell) => [
      cell.target,
      ...extra(cell),
      cell.version ?? '-',
      runsOf(cell),
      incidentsOf(cell),
      cell.load?.stallsS.join(', ') || '-',
      cell.load?.silencesS.join(', ') || '-',
      cell.load?.completedPerSecond ?? '-',
      cell.load?.timeouts ?? '-',
    ]);
  }
  const head = [
    'target',
    ...extraHead,
    'Icinga',
    'OpenSSL',
    'runs',
    'reloads',
    'incidents',
    'per 1,000 reloads (95%)',
    'barrier p50 [95%] / p99 ms',
    'reconnect p50 [95%] / p99 ms',
    'RSS trend KB per 1,000 reloads (master / harness)',
  ];
  const time = (t: Timing) =>
    t.p50 === null ? '-' : `${t.p50} [${cellText(t.p50Low)}-${cellText(t.p50High)}] / ${t.p99}`;
  return lay(head, (cell) => [
    cell.target,
    ...extra(cell),
    cell.icingaVersion ?? '-',
    cell.opensslVersion ?? '-',
    runsOf(cell),
    cell.reloads,
    incidentsOf(cell),
    rate(cell.incidentsPer1000Reloads),
    time(cell.barrierMs),
    time(cell.reconnectMs),
    `${cellText(cell.rssTrendKbPer1000Reloads.master)} / ${cellText(cell.rssTrendKbPer1000Reloads.harness)}`,
  ]);
}

/** A saved matrix.json (a --baseline), read and checked. */
export async function readMatrixFile(path: string): Promise<Matrix> {
  const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new HuntError(
      ErrorCodes.BASELINE_INVALID,
      `Cannot read the baseline ${path} (${error.code}): give a matrix.json written by hunt matrix or --save-baseline.`,
    );
  });
  return parseMatrix(text, path);
}

/** Writes matrix.json and matrix.md into `dir`, each atomically. */
export async function writeMatrix(dir: string, matrix: Matrix): Promise<{ json: string; markdown: string }> {
  const json = join(dir, 'matrix.json');
  const markdown = join(dir, 'matrix.md');
  await writeFileAtomic(json, `${JSON.stringify(matrix, null, 2)}\n`);
  await writeFileAtomic(markdown, renderMatrix(matrix));
  return { json, markdown };
}
