import { join } from 'node:path';
import { ErrorCodes, HuntError } from '../errors.ts';
import { ChaosPlan, PLAN_EVENTS } from '../nemesis/chaos-plan.ts';
import { detectionInputs, detectOffline, LiveDetection } from '../observe/detection.ts';
import type { Detector } from '../observe/detector.ts';
import { chooseDetectors } from '../observe/detector-registry.ts';
import { HarnessRecorder } from '../observe/harness-recorder.ts';
import { type Incident, IncidentLedger, standaloneIncidents } from '../observe/incidents.ts';
import { type Progress, silentProgress } from '../progress.ts';
import { writeReport } from '../report/report-writer.ts';
import { diskFullError, isDiskFull } from '../run/disk-guard.ts';
import { matchesEventKey } from '../run/history.ts';
import { eachEvent } from '../run/history-reader.ts';
import { RunLayout } from '../run/layout.ts';
import { Run, type RunOutcome } from '../run/run.ts';
import type { SystemUnderTest, TargetSelection } from '../seam/target.ts';
import { budgetFor, checkDiskCap, checkRing, type DiskBudget, DiskBudgetKeeper } from './disk-budget.ts';
import { type ExpectationResult, judge, StepSpans } from './expectations.ts';
import type { PlanCellRef } from './matrix-plan.ts';
import { resolveParams } from './params.ts';
import { ReportRefresher } from './report-refresher.ts';
import { RunSession } from './run-session.ts';
import { MAX_STEPS, type RunStatus, StatusTracker } from './run-status.ts';
import type { Scenario } from './scenario.ts';
import { scenarioContext } from './scenario-context.ts';
import { verdictOf } from './verdict.ts';

export interface RunRequest {
  scenario: Scenario;
  /** ["name=value", ...] from the command line, or the object run.json recorded. */
  params?: readonly string[] | Record<string, unknown>;
  /** A version of the scenario's system from its catalogue (--icinga); default: the system's default. */
  version?: string;
  /** The option the version came with (`icinga` for --icinga): it must be the scenario's system. */
  versionOption?: string;
  /** An image the user names instead (--image). */
  image?: string;
  /** Steps in the scenario's system's unit (--reloads); default: the scenario's. */
  steps?: number;
  durationMs?: number;
  seed?: number;
  resultsDir?: string;
  /** Detector names, of the system's; [] runs none (the incidents then stay unseen). Default: the system's all. */
  detectors?: readonly string[];
  command?: string[];
  progress?: Progress;
  /** Packet captures: on (default), off, or optional (go on without them where a node cannot capture). */
  capture?: 'on' | 'off' | 'optional';
  /** Embed TLS secrets in kept captures (default true). */
  secrets?: boolean;
  /** Aborting it stops the run gracefully (the CLI's SIGINT/SIGTERM). */
  signal?: AbortSignal;
  /** Hold the run folder under this many bytes (soaks): budgets for the history, key logs,
   * capture rings and node logs; incident captures pruned oldest first. */
  diskCapBytes?: number;
  /** Each captured node's ring in bytes (with diskCapBytes; default: a fifth of the cap shared out). */
  ringBytes?: number;
  /** Rewrite report.md this often while the run goes on, so a killed soak has a recent one. */
  reportEveryMs?: number;
  /** The run folder this run replays (`hunt run --replay`): its faults fire after the same anchors. */
  replayOf?: string;
  /** The plan's cell this run is (`hunt run --cell`): recorded, so hunt merge can name cells missing. */
  plan?: PlanCellRef;
  /** Called about once a second with where the run stands. */
  onStatus?: (status: RunStatus) => void;
}

export { MAX_STEPS, type RunStatus } from './run-status.ts';

export interface RunResult {
  id: string;
  dir: string;
  status: RunOutcome['status'];
  exitCode: number;
  expectations: ExpectationResult[];
  incidents: Incident[];
  reportPath: string;
  error?: unknown;
}

/**
 * Runs one scenario from start to verdict. The runner owns the lifecycle: it checks the request
 * before anything is created, creates the Run, starts live detection on its history, hands the
 * scenario a context whose stacks and observers it disposes at the end (also on error or
 * interrupt), enforces --reloads and --duration, judges the expectations, finishes the run and
 * writes the report. Exit codes: 0 expectations met, 1 not met, 130 interrupted, 2/3 errors.
 */
export async function runScenario(request: RunRequest): Promise<RunResult> {
  return (await prepareRun(request)).execute();
}

export interface PreparedRun {
  scenario: Scenario;
  params: Record<string, number | string>;
  /** What run.json records: `{ icinga: '2.13.6' }` (the system's name and version) or `{ image }`. */
  target: Record<string, string>;
  steps: number;
  detectors: string[];
  /** Creates the run folder and runs it to its verdict. */
  execute(): Promise<RunResult>;
}

/**
 * Checks a request without creating anything (unknown scenario, parameter, version, detector,
 * limits: a HuntError, exit 2), so bad input never leaves a run folder behind.
 */
export async function prepareRun(request: RunRequest): Promise<PreparedRun> {
  const definition = request.scenario;
  const params = resolveParams(definition.name, definition.params, request.params ?? []);
  const system = definition.system;
  if (request.versionOption !== undefined && request.versionOption !== system.name)
    throw new HuntError(
      ErrorCodes.USAGE,
      `${definition.name} tests ${system.name}, not ${request.versionOption}: pick its version with --${system.name} (${system.versions.join(', ')}).`,
    );
  if (request.version !== undefined && request.image !== undefined)
    throw new HuntError(ErrorCodes.USAGE, `Give --${system.name} or --image, not both.`);
  const selection: TargetSelection =
    request.image !== undefined
      ? { image: request.image }
      : { version: request.version ?? system.defaultVersion };
  if ('version' in selection) await system.checkVersion(selection.version);
  else if (system.takesImages === false)
    throw new HuntError(
      ErrorCodes.USAGE,
      `${definition.name} tests ${system.name}, which runs on the harness's own images only, not ${selection.image}: pick its version with --${system.name} (${system.versions.join(', ')}).`,
    );
  const target = 'image' in selection ? { image: selection.image } : { [system.name]: selection.version };
  const steps = request.steps ?? definition.defaultSteps ?? 1;
  if (!Number.isSafeInteger(steps) || steps < 1 || steps > MAX_STEPS)
    throw new HuntError(
      ErrorCodes.USAGE,
      `--steps (${system.stepUnit} of ${definition.name}) is a whole number from 1 to ${MAX_STEPS}, not ${steps}.`,
    );
  const detectors = chooseDetectors(system.detectors, request.detectors);
  if (request.durationMs !== undefined && !(request.durationMs > 0))
    throw new HuntError(ErrorCodes.USAGE, `--duration must be positive, not ${request.durationMs} ms.`);
  if (request.diskCapBytes !== undefined) checkDiskCap(request.diskCapBytes);
  if (request.ringBytes !== undefined)
    if (request.diskCapBytes === undefined)
      throw new HuntError(ErrorCodes.USAGE, 'a ring size is a share of the disk cap: give --disk-cap too.');
    else checkRing(request.ringBytes, request.diskCapBytes);
  if (request.reportEveryMs !== undefined && !(request.reportEveryMs >= 10_000))
    throw new HuntError(
      ErrorCodes.USAGE,
      `--report-every must be at least 10s, not ${request.reportEveryMs} ms.`,
    );
  return {
    scenario: definition,
    params,
    target,
    steps,
    detectors: detectors.map((detector) => detector.name),
    execute: () => execute({ request, scenario: definition, params, selection, target, steps, detectors }),
  };
}

/** A request checked and resolved by prepareRun: what execute needs, nothing left to check. */
interface CheckedRun {
  request: RunRequest;
  scenario: Scenario;
  params: Record<string, number | string>;
  selection: TargetSelection;
  target: Record<string, string>;
  steps: number;
  detectors: readonly Detector[];
}

/** What a played scenario leaves once its parts are down. */
interface Played {
  live: LiveDetection;
  session: RunSession;
  failure: unknown;
}

/** Creates the run, plays the scenario in a session of owned parts, and judges what it left. */
async function execute(checked: CheckedRun): Promise<RunResult> {
  const { request, scenario } = checked;
  const progress = request.progress ?? silentProgress;
  const replayPlan = request.replayOf === undefined ? undefined : await planOf(request.replayOf);
  const budget = request.diskCapBytes === undefined ? undefined : budgetFor(request.diskCapBytes);
  const run = await createRun(checked, budget, replayPlan !== undefined);
  progress.step(`run ${run.id}: ${scenario.name} (seed ${run.seed}) in ${run.dir}`);
  const played = await play(run, checked, { progress, budget, replayPlan });
  return judgeRun(run, checked, played, progress);
}

/** Writes run.json's opening sections: what the run is, its limits, detectors, expectations. */
async function createRun(
  checked: CheckedRun,
  budget: DiskBudget | undefined,
  replaying: boolean,
): Promise<Run> {
  const { request, scenario } = checked;
  const run = await Run.create({
    name: scenario.name,
    scenario: scenario.name,
    params: checked.params,
    seed: request.seed,
    resultsDir: request.resultsDir,
    command: request.command,
    history: {
      ...(budget && { maxBytes: budget.historyBytes, routineBytes: budget.routineBytes }),
      routineEvents: scenario.system.routineEvents,
      // What the detectors read is written whatever the budget: live and offline read the same;
      // so are the faults' decisions, which a replay follows (bounded by the anchors).
      // and the steps the verdict judges one by one.
      essential: either(detectionInputs(checked.detectors), matchesEventKey(PLAN_EVENTS), (key) =>
        isStepEvent(scenario.system.stepOf, key),
      ),
    },
    keylogBytes: budget?.keylogBytes,
  });
  await run.describe('target', checked.target);
  await run.describe('system', scenario.system.name);
  await run.describe('limits', {
    steps: checked.steps,
    // The unit where the system counts its steps (a matrix counts them in it).
    ...(scenario.system.stepOf ? { unit: scenario.system.stepUnit } : {}),
    durationMs: request.durationMs ?? null,
    ...(budget ? { diskCapBytes: budget.capBytes } : {}),
  });
  await run.describe(
    'detectors',
    checked.detectors.map((detector) => detector.name),
  );
  if (request.replayOf !== undefined)
    await run.describe('replayOf', { dir: request.replayOf, anchorsFollowed: replaying });
  await run.describe(
    'expectations',
    scenario.expectations.map((e) => e.description),
  );
  await run.describe('capture', { mode: request.capture ?? 'on', secrets: request.secrets !== false });
  if (request.plan) await run.describe('plan', request.plan);
  return run;
}

/**
 * Plays the scenario in a session: live detection, the limits, the status line, the harness's own
 * footprint, the disk budget
 * and the report refresher start here, the scenario's own parts where it starts them; every one
 * is down when this returns, in the session's order, whatever ended the scenario.
 */
async function play(
  run: Run,
  checked: CheckedRun,
  options: { progress: Progress; budget: DiskBudget | undefined; replayPlan: ChaosPlan | undefined },
): Promise<Played> {
  const { request, scenario } = checked;
  await using session = new RunSession();
  const live = LiveDetection.of(run, checked.detectors);
  session.own('ground', () => live.stop());
  session.watchLimits(run, { signal: request.signal, durationMs: request.durationMs });
  if (options.budget) {
    const keeper = DiskBudgetKeeper.start(run, options.budget);
    session.own('ground', () => keeper.stop());
  }
  startStatus(session, run, checked, live);
  const footprint = HarnessRecorder.start(run.history, run.dir);
  session.own('observers', () => footprint.stop());
  if (request.reportEveryMs !== undefined) {
    const refresher = new ReportRefresher(run, request.reportEveryMs, options.progress);
    session.own('clock', () => refresher.stop());
  }
  const ctx = scenarioContext({
    run,
    session,
    scenario,
    params: checked.params,
    selection: checked.selection,
    limits: { steps: checked.steps, durationMs: request.durationMs },
    progress: options.progress,
    capture: request.capture ?? 'on',
    secrets: request.secrets !== false,
    budget: options.budget,
    diskCapBytes: request.diskCapBytes,
    ringBytes: request.ringBytes,
    replayPlan: options.replayPlan,
  });
  const failure = await session.play(() => scenario.run(ctx));
  return { live, session, failure };
}

/** The status line: once a second to the caller, every 2 s into the history (the report's timeline). */
function startStatus(session: RunSession, run: Run, checked: CheckedRun, live: LiveDetection): void {
  const { request } = checked;
  const { system } = checked.scenario;
  const status = new StatusTracker(run, {
    total: checked.steps,
    detection: live,
    targets: session.targets,
    steps: system.stepOf ? { unit: system.stepUnit, of: system.stepOf } : undefined,
    durationMs: request.durationMs,
  });
  session.own('ground', () => status.stop());
  const record = (now: RunStatus) =>
    run.history.record('run', 'status', {
      ...(now.stepUnit !== undefined ? { stepsDone: now.stepsDone } : {}),
      clientsConnected: now.clientsConnected,
      clientsTotal: now.clientsTotal,
      clientsLabel: now.clientsLabel,
      incidents: now.incidents,
    });
  let ticks = 0;
  const timer = setInterval(() => {
    const now = status.now();
    request.onStatus?.(now);
    if (ticks++ % 2 === 0) record(now);
  }, 1000);
  timer.unref();
  session.own('clock', () => {
    clearInterval(timer);
    record(status.now());
  });
}

/**
 * One truth: the verdict is judged on the incidents the run folder gives, found the way `hunt
 * report` finds them (the same as live by construction; should the file be unreadable, the live
 * ones). Then run.json's verdict and outcome, and the report.
 */
async function judgeRun(
  run: Run,
  checked: CheckedRun,
  played: Played,
  progress: Progress,
): Promise<RunResult> {
  const { scenario } = checked;
  const { live, session } = played;
  await run.history.flushed();
  const ledger = new IncidentLedger();
  const { stepOf, stepUnit } = scenario.system;
  const steps = stepOf ? new StepSpans(stepOf) : undefined;
  const offline = await detectOffline(run.history.path, ledger, checked.detectors, (event) =>
    steps?.see(event),
  ).catch(() => undefined);
  const incidents = offline ? ledger.list() : live.incidents.list();
  const nodes = session.targets.flatMap((started) => started.nodes.map(({ name, role }) => ({ name, role })));
  const expectations =
    played.failure !== undefined || session.interrupted
      ? []
      : judge(scenario.expectations, {
          incidents,
          nodes,
          params: checked.params,
          ...(offline && steps ? { steps: steps.spans, stepUnit } : {}),
          ...(offline && ledger.firstDroppedAt !== undefined
            ? { incidentsFullAt: ledger.firstDroppedAt }
            : {}),
        });
  const outcome = verdictOf({
    diskError: session.diskError,
    historyWhole: run.history.writeError === undefined,
    interrupted: session.interrupted,
    failure: played.failure,
    detectorFailures: offline?.failures ?? live.failures,
    expectations,
  });
  let failure = session.diskError ?? played.failure;
  // On a full disk these writes may fail: run.json then keeps its last whole version (atomic),
  // and `hunt report` renders the report once there is room.
  const tolerateFullDisk = (error: unknown) => {
    if (!isDiskFull(error)) throw error;
    failure ??= diskFullError(run.dir, (error as Error).message, error);
  };
  await run
    .describe('verdict', { expectations, incidents: standaloneIncidents(incidents).length })
    .catch(tolerateFullDisk);
  await run.finish(outcome).catch(tolerateFullDisk);
  progress.step('writing the report');
  let reportPath = run.path(RunLayout.report);
  try {
    reportPath = (await writeReport(run.dir, [scenario.system])).reportPath;
  } catch (error) {
    tolerateFullDisk(error);
    reportPath = `(not written: the disk is full; free space, then: hunt report ${run.dir})`;
  }
  return {
    id: run.id,
    dir: run.dir,
    status: outcome.status,
    exitCode: outcome.exitCode,
    expectations,
    incidents,
    reportPath,
    error: failure,
  };
}

/** The faults' anchors of the run being replayed, from its history (none recorded: the live rule). */
function planOf(dir: string): Promise<ChaosPlan | undefined> {
  return ChaosPlan.fromHistory(eachEvent(join(dir, RunLayout.history)));
}

function either(...tests: ReadonlyArray<(key: string) => boolean>): (key: string) => boolean {
  return (key) => tests.some((test) => test(key));
}

/** Whether events of this key begin or end a step (`stepOf` decides by source and type alone). */
function isStepEvent(stepOf: SystemUnderTest['stepOf'], key: string): boolean {
  const [source = '', type = ''] = key.split(':');
  return stepOf?.({ t: 0, at: '', source, type }) !== undefined;
}
