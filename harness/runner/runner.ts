import { join } from 'node:path';
import { FlightRecorder, type StartedFlightRecorder } from '../capture/flight-recorder.ts';
import { ErrorCodes, exitCodeFor, HuntError, isHuntError } from '../errors.ts';
import { Chaos } from '../nemesis/chaos.ts';
import { ChaosPlan, PLAN_EVENTS } from '../nemesis/chaos-plan.ts';
import { detectionInputs, detectOffline, LiveDetection } from '../observe/detection.ts';
import { chooseDetectors } from '../observe/detector-registry.ts';
import { type Incident, IncidentLedger } from '../observe/incidents.ts';
import { type Progress, silentProgress } from '../progress.ts';
import { writeReport } from '../report/report-writer.ts';
import { DiskGuard, diskFullError, isDiskFull } from '../run/disk-guard.ts';
import { matchesEventKey } from '../run/history.ts';
import { eachEvent } from '../run/history-reader.ts';
import { RunLayout } from '../run/layout.ts';
import { Run, type RunOutcome } from '../run/run.ts';
import type { StartedTarget, TargetObserver, TargetSelection } from '../seam/target.ts';
import { budgetFor, DiskBudgetKeeper, MIN_DISK_CAP } from './disk-budget.ts';
import { type ExpectationResult, judge } from './expectations.ts';
import { resolveParams } from './params.ts';
import { ReportRefresher } from './report-refresher.ts';
import { MAX_RELOADS, type RunStatus, StatusTracker } from './run-status.ts';
import type { Scenario, ScenarioContext } from './scenario.ts';
import { findScenario } from './scenario-registry.ts';

export interface RunRequest {
  scenario: string | Scenario;
  /** ["name=value", ...] from the command line, or the object run.json recorded. */
  params?: readonly string[] | Record<string, unknown>;
  /** A version of the scenario's system from its catalogue (--icinga); default: the system's default. */
  version?: string;
  /** The option the version came with (`icinga` for --icinga): it must be the scenario's system. */
  versionOption?: string;
  /** An image the user names instead (--image). */
  image?: string;
  reloads?: number;
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
  /** Rewrite report.md this often while the run goes on, so a killed soak has a recent one. */
  reportEveryMs?: number;
  /** The run folder this run replays (`hunt run --replay`): its faults fire after the same anchors. */
  replayOf?: string;
  /** Called about once a second with where the run stands. */
  onStatus?: (status: RunStatus) => void;
}

export { MAX_RELOADS, type RunStatus } from './run-status.ts';

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
  reloads: number;
  detectors: string[];
  /** Creates the run folder and runs it to its verdict. */
  execute(): Promise<RunResult>;
}

/**
 * Checks a request without creating anything (unknown scenario, parameter, version, detector,
 * limits: a HuntError, exit 2), so bad input never leaves a run folder behind.
 */
export async function prepareRun(request: RunRequest): Promise<PreparedRun> {
  const definition =
    typeof request.scenario === 'string' ? await findScenario(request.scenario) : request.scenario;
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
  if ('version' in selection) system.checkVersion(selection.version);
  else if (system.takesImages === false)
    throw new HuntError(
      ErrorCodes.USAGE,
      `${definition.name} tests ${system.name}, which runs on the harness's own images only, not ${selection.image}: pick its version with --${system.name} (${system.versions.join(', ')}).`,
    );
  const target = 'image' in selection ? { image: selection.image } : { [system.name]: selection.version };
  const reloads = request.reloads ?? definition.defaultReloads;
  if (!Number.isSafeInteger(reloads) || reloads < 1 || reloads > MAX_RELOADS)
    throw new HuntError(
      ErrorCodes.USAGE,
      `--reloads is a whole number from 1 to ${MAX_RELOADS}, not ${reloads}.`,
    );
  const detectorNames = chooseDetectors(system.detectors, request.detectors).map((detector) => detector.name);
  if (request.durationMs !== undefined && !(request.durationMs > 0))
    throw new HuntError(ErrorCodes.USAGE, `--duration must be positive, not ${request.durationMs} ms.`);
  if (request.diskCapBytes !== undefined && !(request.diskCapBytes >= MIN_DISK_CAP))
    throw new HuntError(
      ErrorCodes.USAGE,
      `--disk-cap must be at least ${MIN_DISK_CAP / 2 ** 20} MiB (a capture ring, a history and a few incidents), not ${request.diskCapBytes} bytes.`,
    );
  if (request.reportEveryMs !== undefined && !(request.reportEveryMs >= 10_000))
    throw new HuntError(
      ErrorCodes.USAGE,
      `--report-every must be at least 10s, not ${request.reportEveryMs} ms.`,
    );
  return {
    scenario: definition,
    params,
    target,
    reloads,
    detectors: detectorNames,
    execute: () => execute(request, definition, params, selection, target, reloads, detectorNames),
  };
}

async function execute(
  request: RunRequest,
  definition: Scenario,
  params: Record<string, number | string>,
  selection: TargetSelection,
  target: Record<string, string>,
  reloads: number,
  detectorNames: string[],
): Promise<RunResult> {
  const progress = request.progress ?? silentProgress;

  const detectors = chooseDetectors(definition.system.detectors, detectorNames);
  const replayPlan = request.replayOf === undefined ? undefined : await planOf(request.replayOf);
  const budget = request.diskCapBytes === undefined ? undefined : budgetFor(request.diskCapBytes);
  const run = await Run.create({
    name: definition.name,
    scenario: definition.name,
    params,
    seed: request.seed,
    resultsDir: request.resultsDir,
    command: request.command,
    history: {
      ...(budget && { maxBytes: budget.historyBytes, routineBytes: budget.routineBytes }),
      // What the detectors read is written whatever the budget: live and offline read the same;
      // so are the faults' decisions, which a replay follows (bounded by the anchors).
      essential: either(detectionInputs(detectors), matchesEventKey(PLAN_EVENTS)),
    },
    keylogBytes: budget?.keylogBytes,
  });
  await run.describe('target', target);
  await run.describe('limits', {
    reloads,
    durationMs: request.durationMs ?? null,
    ...(budget ? { diskCapBytes: budget.capBytes } : {}),
  });
  await run.describe('detectors', detectorNames);
  if (request.replayOf !== undefined)
    await run.describe('replayOf', { dir: request.replayOf, anchorsFollowed: replayPlan !== undefined });
  await run.describe(
    'expectations',
    definition.expectations.map((e) => e.description),
  );
  progress.step(`run ${run.id}: ${definition.name} (seed ${run.seed}) in ${run.dir}`);

  const detection = LiveDetection.of(run, detectors);
  const abort = new AbortController();
  // Set-up (image build, node starts, swarm connect) stops for an interrupt or a full disk, not
  // for the duration limit: a run whose set-up outlasts --duration still does its one step.
  const stopSetUp = new AbortController();
  const onExternalAbort = () => {
    abort.abort('interrupted');
    stopSetUp.abort('interrupted');
  };
  request.signal?.addEventListener('abort', onExternalAbort, { once: true });
  if (request.signal?.aborted) onExternalAbort();
  const durationTimer =
    request.durationMs !== undefined
      ? setTimeout(() => abort.abort('duration'), request.durationMs)
      : undefined;
  durationTimer?.unref();
  // A (nearly) full results disk stops the run like a limit, while the report still fits.
  let diskError: HuntError | undefined;
  const diskGuard = DiskGuard.watch(run.dir, (error) => {
    diskError ??= error;
    run.history.record('run', 'disk-full', { error: error.message });
    abort.abort('disk-full');
    stopSetUp.abort('disk-full');
  });
  run.onWriteError((error) => diskGuard.failed(error));

  const targets: StartedTarget[] = [];
  const observers: TargetObserver[] = [];
  const chaoses: Chaos[] = [];
  const recorders: StartedFlightRecorder[] = [];
  const captureMode = request.capture ?? 'on';
  await run.describe('capture', { mode: captureMode, secrets: request.secrets !== false });
  const status = new StatusTracker(
    run,
    reloads,
    detection,
    targets,
    request.durationMs,
    definition.system.reloads !== false,
  );
  const keeper = budget && DiskBudgetKeeper.start(run, budget);
  const refresher =
    request.reportEveryMs === undefined
      ? undefined
      : new ReportRefresher(run, request.reportEveryMs, progress);
  // Once a second to the caller's status line; every 2 s into the history (the report's timeline).
  let ticks = 0;
  const recordStatus = (now: RunStatus) =>
    run.history.record('run', 'status', {
      reloadsDone: now.reloadsDone,
      endpointsConnected: now.endpointsConnected,
      endpointsTotal: now.endpointsTotal,
      incidents: now.incidents,
    });
  const statusTimer = setInterval(() => {
    const now = status.now();
    request.onStatus?.(now);
    if (ticks++ % 2 === 0) recordStatus(now);
  }, 1000);
  statusTimer.unref();

  const ctx: ScenarioContext<Record<string, number | string>> = {
    run,
    params,
    limits: { reloads, durationMs: request.durationMs },
    signal: abort.signal,
    progress,
    target: () => definition.system.builder(selection),
    async start(builder, options = {}) {
      // Node key logs rotate like the run's own: generations of keylogBytes, one old one kept.
      const keylogMax = budget ? { maxBytes: budget.keylogBytes } : {};
      const started = await builder
        .withTlsSecrets(request.secrets !== false, keylogMax)
        .start(run, progress, stopSetUp.signal);
      targets.push(started);
      // The runner owns observation: a scenario cannot forget it, only turn it off.
      if (options.observe !== false)
        observers.push(definition.system.observe(started, options.observe ?? {}));
      return started;
    },
    chaos(started, nemeses) {
      const chaos = Chaos.start(started, nemeses, (part) => run.random(part), {
        id: chaoses.length,
        replay: replayPlan,
      });
      chaoses.push(chaos);
      return chaos;
    },
    async capture(started, options = {}) {
      if (captureMode === 'off') return undefined;
      let builder = FlightRecorder.of(started).secrets(request.secrets !== false);
      if (options.ring) builder = builder.ring(options.ring);
      else if (request.diskCapBytes !== undefined)
        builder = builder.ring(budgetFor(request.diskCapBytes, started.watched.length).ring);
      if (options.beforeMs !== undefined || options.afterMs !== undefined)
        builder = builder.window({
          beforeMs: options.beforeMs ?? 30_000,
          afterMs: options.afterMs ?? 10_000,
        });
      try {
        const recorder = await builder.start();
        recorders.push(recorder);
        return recorder;
      } catch (error) {
        if (captureMode !== 'optional' || !isHuntError(error, ErrorCodes.CAPTURE_UNAVAILABLE)) throw error;
        progress.step(`no captures: ${(error as Error).message}`);
        run.history.record('capture', 'capture-unavailable', { error: (error as Error).message });
        return undefined;
      }
    },
  };

  let failure: unknown;
  try {
    await definition.run(ctx);
  } catch (error) {
    // Set-up cut short by an interrupt or a full disk ends as that (130, HH_DISK_FULL), not as a
    // harness error: the abort's own rejection is no failure.
    const cutShort =
      stopSetUp.signal.aborted &&
      (error === stopSetUp.signal.reason || (error instanceof Error && error.name === 'AbortError'));
    if (!cutShort) failure = error;
  } finally {
    clearTimeout(durationTimer);
    clearInterval(statusTimer);
    diskGuard.stop();
    await refresher?.stop();
    recordStatus(status.now());
    request.signal?.removeEventListener('abort', onExternalAbort);
    // Faults are healed first, while everything else still watches.
    for (const chaos of chaoses) await chaos.stop().catch(() => undefined);
    for (const observer of observers.reverse()) await observer.stop().catch(() => undefined);
    // The recorder keeps the windows still open, with what the ring holds: before the stacks go.
    for (const recorder of recorders.reverse()) await recorder.stop().catch(() => undefined);
    for (const started of [...targets].reverse()) await started.stop().catch(() => undefined);
    await detection.stop();
    status.stop();
    await keeper?.stop();
  }

  // One truth: the verdict is judged on the incidents the run folder gives, found the way
  // `hunt report` finds them (the same as live by construction; should the file be unreadable,
  // the live ones).
  await run.history.flushed();
  const ledger = new IncidentLedger();
  const offline = await detectOffline(run.history.path, ledger, detectors).catch(() => undefined);
  const incidents = offline ? ledger.list() : detection.incidents.list();
  const detectorFailures = offline?.failures ?? detection.failures;
  const interrupted = abort.signal.aborted && abort.signal.reason === 'interrupted';
  const nodes = targets.flatMap((started) => started.nodes.map(({ name, role }) => ({ name, role })));
  const expectations =
    failure || interrupted ? [] : judge(definition.expectations, { incidents, nodes, params });
  const passed = expectations.every((result) => result.ok);
  if (diskError) failure = diskError;
  const outcome: RunOutcome = diskError
    ? {
        status: 'error',
        exitCode: 2,
        // Stopped by the guard, every file is whole; a failed write may have cut history's last line.
        complete: run.history.writeError === undefined,
        summary: diskError.message,
      }
    : interrupted
      ? {
          status: 'interrupted',
          exitCode: 130,
          complete: true,
          summary: 'interrupted (SIGINT/SIGTERM): stopped gracefully',
        }
      : failure
        ? {
            status: 'error',
            exitCode: exitCodeFor(failure),
            complete: false,
            summary: failure instanceof Error ? failure.message : String(failure),
          }
        : detectorFailures.length > 0
          ? {
              status: 'error',
              exitCode: 3,
              complete: true,
              summary: `verdict unknown: ${detectorFailures
                .map((f) => `detector ${f.detector} threw on a ${f.event} event (${f.error})`)
                .join('; ')}; the other detectors ran. This is a bug in hunt.`,
            }
          : passed
            ? { status: 'passed', exitCode: 0, complete: true, summary: 'every expectation met' }
            : {
                status: 'failed',
                exitCode: 1,
                complete: true,
                summary: `expectation not met: ${expectations
                  .filter((result) => !result.ok)
                  .map((result) => `${result.description} (${result.detail})`)
                  .join('; ')}`,
              };
  // On a full disk these writes may fail: run.json then keeps its last whole version (atomic),
  // and `hunt report` renders the report once there is room.
  const tolerateFullDisk = (error: unknown) => {
    if (!isDiskFull(error)) throw error;
    failure ??= diskFullError(run.dir, (error as Error).message, error);
  };
  await run.describe('verdict', { expectations, incidents: incidents.length }).catch(tolerateFullDisk);
  await run.finish(outcome).catch(tolerateFullDisk);
  progress.step('writing the report');
  let reportPath = run.path(RunLayout.report);
  try {
    reportPath = (await writeReport(run.dir, definition.system.detectors)).reportPath;
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

function either(a: (key: string) => boolean, b: (key: string) => boolean): (key: string) => boolean {
  return (key) => a(key) || b(key);
}
