import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCodes, isHuntError } from '../../../errors.ts';
import type { ReloadVia, StartedIcingaNode } from '../stack/icinga-node.ts';
import type { StartedIcingaStack } from '../stack/icinga-stack.ts';
import { type ReloadRecord, recordReload } from './reload-record.ts';
import { delayBefore, type Schedule } from './schedule.ts';

export interface StormOptions {
  /** Storm steps; each reloads every target once. */
  count: number;
  /** Which masters: one by name, both at once, or both staggered by staggerMs. */
  targets?: 'master1' | 'master2' | 'both' | 'staggered';
  staggerMs?: number;
  via?: ReloadVia;
  schedule?: Schedule;
  /** After each step every endpoint must be connected again within this (ms). */
  reconnectDeadlineMs?: number;
  /** Stop after this long whatever the count (ms). */
  maxDurationMs?: number;
  /** For 'stage' reloads: change the deployed content each time (default) or deploy the same. */
  stageChanges?: boolean;
  /**
   * Stops the storm (the runner's SIGINT/SIGTERM and duration limit): no new step starts, and the
   * step in progress stops waiting for its new workers and reconnects, so an interrupt ends a run
   * within seconds. A reload it cut short is left unended (neither finished nor failed): it is
   * the harness's doing, never a failure of the system.
   */
  signal?: AbortSignal;
  /** Called after each step; a returned promise is awaited before the next (inject a fault here). */
  onStep?: (step: number, finished: StepResult[]) => void | Promise<void>;
}

export interface StepResult {
  master: string;
  ok: boolean;
  /** Signal -> new worker serving. */
  barrierMs?: number;
  /** Signal -> every endpoint connected again (undefined when the deadline passed). */
  reconnectMs?: number;
  error?: string;
}

export interface StormSummary {
  steps: number;
  reloads: number;
  verified: number;
  failed: number;
  reconnectTimeouts: number;
  mastersDown: string[];
  durationMs: number;
  /** Why it stopped before `count` steps: 'aborted', 'duration', 'no-master-left' (undefined: it did them all). */
  stoppedEarly?: string;
}

/**
 * Reloads masters over and over, each reload verified by the barrier and followed by a
 * reconnect check; every reload is a pair of history events (reload-started, then
 * reload-finished or reload-failed) with its durations, and a step whose endpoints did not all
 * come back is a `reconnect-timeout` event. It records; detectors make incidents of it. Bounded
 * by count, time and the abort signal. A failing or dead master never crashes the storm; a dead
 * master leaves the rotation. Its schedule's jitter comes from the run's seed.
 */
export async function reloadStorm(stack: StartedIcingaStack, options: StormOptions): Promise<StormSummary> {
  const random = stack.run.random('reload-storm');
  const schedule = options.schedule ?? { kind: 'asap' };
  const deadline = Date.now() + (options.maxDurationMs ?? 24 * 3600_000);
  const reconnectDeadline = options.reconnectDeadlineMs ?? 30_000;
  const events = stack.history;
  const summary: StormSummary = {
    steps: 0,
    reloads: 0,
    verified: 0,
    failed: 0,
    reconnectTimeouts: 0,
    mastersDown: [],
    durationMs: 0,
  };
  const started = performance.now();
  let alive = chooseTargets(stack, options.targets ?? 'both');

  for (let step = 0; step < options.count; step++) {
    if (options.signal?.aborted) summary.stoppedEarly = 'aborted';
    else if (Date.now() >= deadline) summary.stoppedEarly = 'duration';
    else if (alive.length === 0) summary.stoppedEarly = 'no-master-left';
    if (summary.stoppedEarly) break;
    const delayMs = Math.round(delayBefore(schedule, step, random));
    await sleep(delayMs, undefined, { signal: options.signal }).catch(() => undefined);
    if (options.signal?.aborted) {
      summary.stoppedEarly = 'aborted';
      break;
    }
    const stepStart = performance.now();
    const stageContent =
      options.stageChanges === false ? undefined : `const HandshakeHunterDeploy = ${step}\n`;
    const begun = await Promise.all(
      alive.map(
        async (
          master,
          index,
        ): Promise<(StepResult & { t0: number; newPid?: number; record: ReloadRecord }) | undefined> => {
          if (options.targets === 'staggered') {
            await sleep(index * (options.staggerMs ?? 250), undefined, { signal: options.signal }).catch(
              () => undefined,
            );
            // Interrupted in the pause: this master's reload never began, so nothing of it is recorded.
            if (options.signal?.aborted) return undefined;
          }
          const t0 = performance.now();
          const record = recordReload(events, {
            step,
            master: master.name,
            via: options.via ?? 'signal',
            delayMs,
          });
          summary.reloads++;
          try {
            const outcome = await master.reload({
              via: options.via ?? 'signal',
              timeoutMs: 60_000,
              stageContent,
              onSignalled: record.signalled,
              signal: options.signal,
            });
            return {
              master: master.name,
              ok: true,
              barrierMs: outcome.ms,
              newPid: outcome.newPid,
              t0,
              record,
            };
          } catch (error) {
            // Cut short by the signal: nothing is recorded of it below (the step breaks first).
            return { master: master.name, ok: false, error: (error as Error).message, t0, record };
          }
        },
      ),
    );
    const results = begun.filter((result) => result !== undefined);
    // One reconnect check for the step: every endpoint connected to every live master again.
    let missing: string[] = [];
    if (results.some((r) => r.ok)) {
      const reloaded = results.filter((r) => r.ok).map((r) => ({ master: r.master, since: r.t0 }));
      // Past the deadline, the error already lists who is missing (its last look at the API).
      missing = await stack
        .reconnected(reloaded, { timeoutMs: reconnectDeadline, signal: options.signal })
        .then(
          () => [],
          async (error: unknown) =>
            options.signal?.aborted
              ? [] // interrupted: nothing to ask the API, the step breaks below
              : isHuntError(error, ErrorCodes.STACK_NOT_READY)
                ? (error.details.missing as string[])
                : await stack.missingConnections(),
        );
    }
    if (options.signal?.aborted) {
      // Interrupted mid-step: the new workers that came up are recorded, reconnects not measured.
      for (const result of results)
        if (result.ok)
          result.record.finished({ newPid: result.newPid, barrierMs: result.barrierMs, interrupted: true });
      summary.stoppedEarly = 'aborted';
      break;
    }
    const readyAt = performance.now();
    for (const result of results) {
      if (result.ok) {
        summary.verified++;
        const reconnectMs = missing.length === 0 ? Math.round(readyAt - result.t0) : undefined;
        result.reconnectMs = reconnectMs;
        result.record.finished({
          newPid: result.newPid,
          barrierMs: result.barrierMs,
          reconnectMs,
          missing: missing.slice(0, 20),
        });
        continue;
      }
      summary.failed++;
      const master = stack.node(result.master);
      const down = !(await master.isRunning());
      result.record.failed(result.error ?? 'unknown', { masterDown: down });
      if (down) {
        summary.mastersDown.push(result.master);
        alive = alive.filter((m) => m.name !== result.master);
      }
    }
    if (missing.length > 0) {
      summary.reconnectTimeouts++;
      events.record('reload', 'reconnect-timeout', {
        step,
        deadlineMs: reconnectDeadline,
        missing: missing.slice(0, 200),
      });
    }
    summary.steps++;
    events.record('reload', 'step-finished', { step, ms: Math.round(performance.now() - stepStart) });
    await options.onStep?.(step, results);
  }
  summary.durationMs = Math.round(performance.now() - started);
  events.record('reload', 'storm-finished', { ...summary });
  return summary;
}

function chooseTargets(
  stack: StartedIcingaStack,
  targets: NonNullable<StormOptions['targets']>,
): StartedIcingaNode[] {
  if (targets === 'master1' || targets === 'master2') return [stack.node(targets)];
  return stack.masters;
}

/** What a storm takes from a scenario's context: the run's limits and its abort signal. */
export interface StormLimits {
  limits: { steps: number; durationMs?: number };
  signal: AbortSignal;
}

/**
 * A reload storm within a run's limits: --reloads spread over the masters it reloads, stopped by
 * --duration and Ctrl-C within the step in progress. `await storm(ctx, stack, { targets: 'both' })`.
 */
export function storm(
  ctx: StormLimits,
  stack: StartedIcingaStack,
  options: Omit<StormOptions, 'count' | 'signal' | 'maxDurationMs'> = {},
): Promise<StormSummary> {
  const masters = options.targets === 'master1' || options.targets === 'master2' ? 1 : stack.masters.length;
  return reloadStorm(stack, {
    ...options,
    count: Math.max(1, Math.ceil(ctx.limits.steps / Math.max(1, masters))),
    signal: ctx.signal,
    maxDurationMs: ctx.limits.durationMs,
  });
}
