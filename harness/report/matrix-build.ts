import { ErrorCodes, HuntError } from '../errors.ts';
import { standaloneIncidents } from '../observe/incidents.ts';
import { type RunManifest, reportedVersion, targetOf } from '../run/manifest.ts';
import { percentile, wilsonInterval } from '../stats.ts';
import { cellKey, type DisruptionRates, type Matrix, type MatrixCell } from './matrix.ts';
import { round, roundRate, steepest, timing } from './matrix-statistics.ts';
import {
  type AdvisoryFinding,
  phaseTimes,
  type RunFacts,
  readRunFacts,
  type SystemsKnown,
} from './run-facts.ts';

/** Reads each run folder (re-detecting its incidents, as `hunt report` does) and builds the matrix. */
export async function matrixOfRuns(dirs: readonly string[], systems: SystemsKnown): Promise<Matrix> {
  if (dirs.length === 0) throw new HuntError(ErrorCodes.USAGE, 'Name at least one run folder.');
  const facts: RunFacts[] = [];
  for (const dir of dirs) facts.push(await readRunFacts(dir, systems));
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
  const missing = missingCells(runs);
  const plans = [...new Set(runs.flatMap((run) => (run.meta.plan ? [run.meta.plan.id] : [])))];
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
    ...(plans.length > 0 ? { plans } : {}),
    ...(missing.length > 0 ? { missing } : {}),
    regressions: [],
  };
}

/** The cells of each plan the runs came from (run.json's `plan`) that none of them ran. */
function missingCells(runs: readonly RunFacts[]): NonNullable<Matrix['missing']> {
  const plans = new Map<string, { cells: number; ran: Set<number> }>();
  for (const { meta } of runs) {
    if (!meta.plan) continue;
    const plan = plans.get(meta.plan.id) ?? { cells: meta.plan.cells, ran: new Set<number>() };
    plan.ran.add(meta.plan.cell);
    plans.set(meta.plan.id, plan);
  }
  return [...plans].flatMap(([id, { cells, ran }]) =>
    Array.from({ length: cells }, (_, cell) => cell)
      .filter((cell) => !ran.has(cell))
      .map((cell) => ({ plan: id, cell })),
  );
}

/**
 * The disruption the runs are about when it is not their steps: the kind with the most windows in
 * all, when there are more of them than steps with figures (a race hunt's context swaps).
 */
function unitDisruption(runs: readonly RunFacts[]): string | undefined {
  // Only what the system did itself: a nemesis's faults and a remedy's restarts are causes, not trials.
  const totals = new Map<string, number>();
  for (const run of runs)
    for (const [kind, count] of Object.entries(run.ownDisruptions))
      totals.set(kind, (totals.get(kind) ?? 0) + count);
  const steps = runs.reduce((sum, run) => sum + (run.steps?.samples.length ?? 0), 0);
  const [kind, count] = [...totals].sort((a, b) => b[1] - a[1])[0] ?? [];
  return kind !== undefined && (count ?? 0) > steps ? kind : undefined;
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
  // A run folder with no target (a stack test's) still names the image it ran.
  return target.image ?? target.version ?? meta.stack?.image ?? 'unknown';
}

/**
 * The runs' steps in their system's unit: from their figures where every run has them, else as
 * their status lines last counted them; undefined unless every run recorded one or the other
 * (the unit in run.json's limits, stepsDone in its status events).
 */
function stepsOf(runs: readonly RunFacts[], incidents: number): MatrixCell['steps'] {
  const rate = (count: number) => roundRate(wilsonInterval(incidents, count, 1000)) ?? null;
  const figures = runs.map((run) => run.steps);
  const first = figures[0];
  if (first && figures.every((steps) => steps !== undefined)) {
    const samples = figures.flatMap((steps) => steps?.samples ?? []);
    const ok = samples.filter((sample) => sample.ok).length;
    return { unit: first.unit, count: samples.length, ok, incidentsPer1000: rate(samples.length) };
  }
  const unit = runs[0]?.meta.limits?.unit;
  const counts = runs.map((run) => run.statusStepsDone);
  if (unit === undefined || counts.some((count) => count === undefined)) return undefined;
  const count = counts.reduce((sum: number, n) => sum + (n ?? 0), 0);
  return { unit, count, incidentsPer1000: rate(count) };
}

/** Each phase's timing over the steps that did their job, where the runs' system times them. */
function phasesOf(runs: readonly RunFacts[]): MatrixCell['phasesMs'] {
  const phases = runs.find((run) => run.steps)?.steps?.phases;
  if (!phases) return undefined;
  const samples = runs.flatMap((run) => run.steps?.samples ?? []);
  return Object.fromEntries(phaseTimes(phases, samples).map(([phase, ms]) => [phase, timing(ms)]));
}

function buildCell(target: string, runs: RunFacts[], unit: string | undefined): MatrixCell {
  const stack = runs[0]?.meta.stack ?? {};
  const incidentsByKind: Record<string, number> = {};
  let incidents = 0;
  for (const run of runs)
    for (const incident of standaloneIncidents(run.ledger.list())) {
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
  const steps = stepsOf(runs, incidents);
  const phasesMs = phasesOf(runs);
  return {
    ...(steps ? { steps } : {}),
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
    version: reportedVersion(stack) ?? null,
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
    opensslVersion: stack.opensslVersion ?? null,
    runs: runs.map((run) => ({ id: run.meta.id, status: runStatus(run.meta) })),
    incidents,
    incidentsByKind: Object.fromEntries(Object.entries(incidentsByKind).sort()),
    ...(phasesMs
      ? {
          phasesMs,
          rssTrendKbPer1000Steps: {
            // Per node: two workers' different sizes are not a trend. The cell shows the steepest.
            node: steepest(
              runs.flatMap((run) => {
                const byNode = new Map<string, Array<{ x: number; y: number }>>();
                for (const point of settled(run, run.nodeRss))
                  byNode.set(point.node ?? '', [
                    ...(byNode.get(point.node ?? '') ?? []),
                    { x: point.stepsDone, y: point.rssKb },
                  ]);
                return [...byNode.values()];
              }),
            ),
            harness: steepest(
              runs.map((run) => settled(run, run.harnessRss).map((p) => ({ x: p.stepsDone, y: p.rssKb }))),
            ),
          },
        }
      : {}),
  };
}

/**
 * The points after the warm-up (the first 20% of the run's steps, at least 10): a process
 * growing to its working size (connections, caches, the heap) is not a leak; what grows after is.
 */
function settled<T extends { stepsDone: number }>(run: RunFacts, points: readonly T[]): T[] {
  const warm = Math.max(10, Math.floor((run.steps?.samples.length ?? 0) * 0.2));
  return points.filter((point) => point.stepsDone >= warm);
}

function runStatus(meta: RunManifest): string {
  return meta.outcome?.status ?? 'incomplete';
}
