import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCodes, HuntError, isHuntError } from '../../../errors.ts';
import { IcingaApiError } from '../api/icinga-api.ts';
import type { StartedIcingaNode } from '../stack/icinga-node.ts';
import type { StartedIcingaStack } from '../stack/icinga-stack.ts';
import { recordReload } from './reload-record.ts';

/** The package Icinga Director deploys into. */
export const DIRECTOR_PACKAGE = 'director';

/** What a deploy writes: zones.d content of the masters' zone, synced by the config master. */
export const DIRECTOR_FILE = 'zones.d/master/handshake-hunter-director.conf';

export interface DirectorDeployOptions {
  /** The master the deploys go to (Director talks to one); the other gets the zone config by sync. */
  configMaster: string;
  /** Deploys to make (bounded: 1 to 10,000). */
  deploys: number;
  /** From one deploy's end to the next (the field's minutes, compressed). */
  everyMs: number;
  /** Every n-th deploy changes the content (1: each; 0: none: Director deploying the same again). */
  changeEvery: number;
  /** Stages kept in the package besides the active one (Director removes the rest). Default 3. */
  keepStages?: number;
  /** How long a master may take to run its new worker after a deploy (ms). Default 60,000. */
  reloadDeadlineMs?: number;
  /** 423 (a deploy pending) and 503 (not ready) are retried this often, 1 s apart. Default 20. */
  retries?: number;
  signal?: AbortSignal;
}

export interface DirectorDeploySummary {
  deploys: number;
  changed: number;
  /** Reloads verified (a new worker), the config master's and the synced master's. */
  verified: number;
  failed: number;
  retried: number;
  stagesRemoved: number;
}

/**
 * Deploys as Icinga Director does: a stage of the `director` package with zones.d content for
 * the masters' zone, uploaded through the REST API to the config master, which validates it and
 * reloads; its new worker syncs the zone's config to the other master, which reloads too when the
 * content changed. Every reload is the storm's pair of history events (reload-started with
 * `via: stage` or `via: sync`, then reload-finished with the new pid, or reload-failed), so a
 * deploy that leaves a master on its old worker is an incident, never silent. 423 and 503 answers
 * are retried within a bound; old stages are removed after each deploy.
 */
export async function deployLikeDirector(
  stack: StartedIcingaStack,
  options: DirectorDeployOptions,
): Promise<DirectorDeploySummary> {
  const config = stack.masters.find((master) => master.name === options.configMaster);
  if (!config)
    throw new HuntError(ErrorCodes.USAGE, `Director deploys: ${options.configMaster} is not a master.`);
  if (!Number.isInteger(options.deploys) || options.deploys < 1 || options.deploys > 10_000)
    throw new HuntError(ErrorCodes.USAGE, `Director deploys: 1 to 10000 deploys, not ${options.deploys}.`);
  const synced = stack.masters.filter((master) => master !== config);
  const events = stack.history;
  const summary: DirectorDeploySummary = {
    deploys: 0,
    changed: 0,
    verified: 0,
    failed: 0,
    retried: 0,
    stagesRemoved: 0,
  };
  let generation = 0;
  for (let step = 1; step <= options.deploys && !options.signal?.aborted; step++) {
    // Deploys 1, 1 + n, 1 + 2n, ... change the content.
    const changes = options.changeEvery > 0 && (step - 1) % options.changeEvery === 0;
    if (changes) generation++;
    const before = new Map(
      await Promise.all(synced.map(async (master) => [master, await workerOf(master)] as const)),
    );
    const since = performance.now();
    const deployed = await reloadConfigMaster(config, step, generation, changes, options, summary, events);
    summary.deploys++;
    if (changes) summary.changed++;
    if (deployed && changes)
      await Promise.all(
        synced.map((master) => awaitSyncedReload(master, before.get(master), step, options, summary, events)),
      );
    // Every endpoint connected again to every master, as after a storm's step.
    const missing = await stack
      .reconnected(
        stack.masters.map((master) => ({ master: master.name, since })),
        { timeoutMs: options.reloadDeadlineMs ?? 60_000, signal: options.signal },
      )
      .then(
        () => [],
        async (error: unknown) =>
          options.signal?.aborted
            ? [] // interrupted: nothing timed out
            : isHuntError(error, ErrorCodes.STACK_NOT_READY)
              ? (error.details.missing as string[])
              : await stack.missingConnections().catch(() => []),
      );
    if (missing.length > 0)
      events.record('reload', 'reconnect-timeout', {
        step,
        deadlineMs: options.reloadDeadlineMs ?? 60_000,
        missing: missing.slice(0, 200),
      });
    summary.stagesRemoved += await removeOldStages(config, options.keepStages ?? 3);
    events.record('director', 'deploy-finished', { step, changed: changes, generation });
    await sleep(options.everyMs, undefined, { signal: options.signal }).catch(() => undefined);
  }
  events.record('director', 'deploys-finished', { ...summary });
  return summary;
}

async function reloadConfigMaster(
  config: StartedIcingaNode,
  step: number,
  generation: number,
  changes: boolean,
  options: DirectorDeployOptions,
  summary: DirectorDeploySummary,
  events: StartedIcingaStack['history'],
): Promise<boolean> {
  // A template changes the zone's config without adding checks; the same generation is the
  // same file (Director deploying again what is already there).
  const files = {
    [DIRECTOR_FILE]: `template Host "handshake-hunter-director" {\n  vars.generation = ${generation}\n}\n`,
  };
  const retries = options.retries ?? 20;
  const record = recordReload(events, { step, master: config.name, via: 'stage', changed: changes });
  for (let attempt = 0; ; attempt++) {
    try {
      const outcome = await config.reload({
        via: 'stage',
        stage: { package: DIRECTOR_PACKAGE, files },
        timeoutMs: options.reloadDeadlineMs ?? 60_000,
        onSignalled: record.signalled,
        signal: options.signal,
      });
      summary.verified++;
      record.finished({ newPid: outcome.newPid, barrierMs: outcome.ms });
      return true;
    } catch (error) {
      // Cut short by the signal: left unended, the harness's doing and no failure of the system.
      if (options.signal?.aborted) return false;
      const status = error instanceof IcingaApiError ? error.status : undefined;
      if ((status === 423 || status === 503) && attempt < retries && !options.signal?.aborted) {
        summary.retried++;
        events.record('director', 'deploy-retried', { step, status, attempt: attempt + 1 });
        await sleep(1_000, undefined, { signal: options.signal }).catch(() => undefined);
        if (options.signal?.aborted) return false; // no deploy after an interrupt
        continue;
      }
      summary.failed++;
      record.failed((error as Error).message, { masterDown: !(await config.isRunning()) });
      return false;
    }
  }
}

/** The synced master runs a new worker within the deadline, or the deploy failed there. */
async function awaitSyncedReload(
  master: StartedIcingaNode,
  old: { pid: number; program_start: number } | undefined,
  step: number,
  options: DirectorDeployOptions,
  summary: DirectorDeploySummary,
  events: StartedIcingaStack['history'],
): Promise<void> {
  const started = performance.now();
  const deployedAt = Date.now();
  // The config master's deploy is this node's signal: its reload starts with the sync.
  const record = recordReload(events, { step, master: master.name, via: 'sync' });
  record.signalled();
  const deadline = started + (options.reloadDeadlineMs ?? 60_000);
  while (performance.now() < deadline && !options.signal?.aborted) {
    const now = await master.api.icingaApplication().catch(() => undefined);
    // A new worker: another pid, or one started after the deploy when the old one was not seen.
    const fresh = old
      ? now !== undefined && (now.pid !== old.pid || now.program_start !== old.program_start)
      : now !== undefined && now.program_start * 1000 > deployedAt;
    if (now && fresh) {
      summary.verified++;
      record.finished({ newPid: now.pid, barrierMs: Math.round(performance.now() - started) });
      return;
    }
    await sleep(250);
  }
  if (options.signal?.aborted) return; // interrupted: left unended, as above
  summary.failed++;
  record.failed(
    `the zone config synced from the config master did not bring a new worker within ${Math.round((options.reloadDeadlineMs ?? 60_000) / 1000)} s (${old ? `still pid ${old.pid}` : 'its worker was never seen'})`,
    { masterDown: !(await master.isRunning()) },
  );
}

/** The node's worker before a deploy: asked up to three times (a busy API may miss one answer). */
async function workerOf(
  master: StartedIcingaNode,
): Promise<{ pid: number; program_start: number } | undefined> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const app = await master.api.icingaApplication().catch(() => undefined);
    if (app) return app;
    await sleep(500);
  }
  return undefined;
}

/** Removes the package's stages but the active one and the newest `keep`; how many it removed. */
async function removeOldStages(config: StartedIcingaNode, keep: number): Promise<number> {
  const found = (await config.api.packages().catch(() => [])).find((p) => p.name === DIRECTOR_PACKAGE);
  if (!found) return 0;
  // Stage names begin with the host name and the upload time: sorted, the newest are last.
  const old = found.stages
    .filter((stage) => stage !== found['active-stage'])
    .sort()
    .slice(0, Math.max(0, found.stages.length - 1 - keep));
  let removed = 0;
  for (const stage of old)
    removed += await config.api.deleteStage(DIRECTOR_PACKAGE, stage).then(
      () => 1,
      () => 0,
    );
  return removed;
}
