import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCodes, HuntError } from '../../../errors.ts';
import { ContainerNode, type ContainerNodeInit } from '../../../seam/container-node.ts';
import type { LogTail } from '../../../seam/log-tail.ts';
import type { IcingaApiClient, IcingaApplicationStatus } from '../api/icinga-api.ts';
import { reloadFailed } from '../icinga-errors.ts';
import { snippetFileName } from './icinga-config.ts';

export type NodeRole = 'master' | 'agent';
/** signal: SIGHUP; api: /v1/actions/restart-process; stage: a Director-style config-stage deploy. */
export type ReloadVia = 'signal' | 'api' | 'stage';

/** The config package the 'stage' reloads deploy into. */
export const STAGE_PACKAGE = 'handshake-hunter';

export interface ReloadOutcome {
  node: string;
  via: ReloadVia;
  /** Worker pid before and after. */
  oldPid: number;
  newPid: number;
  /** From the signal (or API call) until the new worker answered the API. */
  ms: number;
}

/** Lines Icinga's umbrella or worker logs when a reload's new configuration is refused. */
const RELOAD_REFUSED = /Config validation failed|reloading aborted|Reload failed|Found error in config/i;

/** One running Icinga 2 container of a stack: a master (with its API) or an agent. */
export class StartedIcingaNode extends ContainerNode {
  declare readonly role: NodeRole;
  /** The umbrella and its workers alike. */
  readonly program = 'icinga2';
  /**
   * The container's output (the daemon's console log). Only here: configuration errors of a
   * refused reload, because the new worker's file logger is not active while it validates.
   */
  readonly output: LogTail;
  private readonly apiClient: IcingaApiClient | undefined;
  private stagePackageReady = false;

  constructor(init: ContainerNodeInit & { role: NodeRole; output: LogTail; api?: IcingaApiClient }) {
    super({ ...init, tails: [init.output] });
    this.output = init.output;
    this.apiClient = init.api;
  }

  /** The REST API (masters only). */
  get api(): IcingaApiClient {
    if (!this.apiClient)
      throw new HuntError(
        ErrorCodes.USAGE,
        `${this.name} is an agent: only masters serve the harness's API user.`,
      );
    return this.apiClient;
  }

  /** Closes the API connection, removes the container, stops following the logs. */
  override async stop(): Promise<void> {
    await this.apiClient?.close();
    await super.stop();
  }

  /** Adds (or replaces) a config file under hh/extra/; takes effect at the next reload. */
  async writeConfig(name: string, content: string): Promise<void> {
    await this.container.copyContentToContainer([
      { content, target: `/etc/icinga2/hh/extra/${snippetFileName(name)}`, mode: 0o644 },
    ]);
  }

  async removeConfig(name: string): Promise<void> {
    await this.container.exec(['rm', '-f', `/etc/icinga2/hh/extra/${snippetFileName(name)}`]);
  }

  /**
   * Reloads and returns once the new worker serves the API (its pid changed). SIGHUP goes to
   * the container's init, which forwards it to the umbrella process; `api` uses
   * /v1/actions/restart-process. A reload whose configuration is refused leaves the old worker
   * running: that is an HH_RELOAD_FAILED error carrying the log excerpt.
   */
  async reload(
    options: {
      via?: ReloadVia;
      timeoutMs?: number;
      stageContent?: string;
      /** For 'stage' reloads: the package and files instead (a Director deploy's zones.d files). */
      stage?: { package: string; files: Record<string, string> };
      /** Called the moment the signal was sent (or the API call or deploy answered). */
      onSignalled?: () => void;
      /** Stops waiting for the new worker (rejects with the signal's reason): an interrupted run. */
      signal?: AbortSignal;
    } = {},
  ): Promise<ReloadOutcome> {
    const via = options.via ?? 'signal';
    const deadline = Date.now() + (options.timeoutMs ?? 60_000);
    const before = await this.api.icingaApplication();
    const mark = this.output.mark();
    const started = performance.now();
    if (via === 'signal') await this.kill('SIGHUP');
    else if (via === 'api') await this.api.restartProcess();
    else if (options.stage) {
      await this.api.createPackage(options.stage.package).catch(() => undefined); // exists already: fine
      await this.api.uploadStage(options.stage.package, options.stage.files);
    } else {
      if (!this.stagePackageReady) {
        await this.api.createPackage(STAGE_PACKAGE).catch(() => undefined); // exists already: fine
        this.stagePackageReady = true;
      }
      // The same content every time is a deploy that changes nothing, as Director sometimes does.
      await this.api.uploadStage(STAGE_PACKAGE, {
        'conf.d/handshake-hunter.conf': options.stageContent ?? '// deployed by handshake-hunter\n',
      });
    }
    options.onSignalled?.();

    let refusedAt: number | undefined;
    let checkedRunningAt = Date.now();
    while (Date.now() < deadline) {
      options.signal?.throwIfAborted();
      const now = await this.api.icingaApplication().catch(() => undefined);
      if (now && isNewWorker(before, now)) {
        return {
          node: this.name,
          via,
          oldPid: before.pid,
          newPid: now.pid,
          ms: Math.round(performance.now() - started),
        };
      }
      const refused = this.output.since(mark).find((line) => RELOAD_REFUSED.test(line.text));
      if (refused) {
        refusedAt ??= Date.now();
        // Give the umbrella a moment to log the whole reason, then report with the old worker's state.
        if (Date.now() - refusedAt > 500) {
          const excerpt = this.output
            .since(mark)
            .filter((line) => /critical|warning|error|Location:|^\//i.test(line.text))
            .slice(0, 15)
            .map((line) => line.text);
          const stillServing = now?.pid === before.pid;
          throw reloadFailed(
            `Reload of ${this.name} was refused: the new configuration did not validate. ` +
              `${stillServing ? `The old worker (pid ${before.pid}) is still running and serving.` : 'The old worker is not answering.'}\n` +
              excerpt.map((line) => `  ${line}`).join('\n'),
            { node: this.name, oldWorkerRunning: stillServing, excerpt },
          );
        }
      }
      // A container check costs an engine round trip: do it twice a second, not every poll.
      if (Date.now() - checkedRunningAt > 500 && !(await this.isRunning())) {
        throw reloadFailed(`${this.name} exited during a reload (see ${this.output.path}).`, {
          node: this.name,
          oldWorkerRunning: false,
        });
      }
      if (Date.now() - checkedRunningAt > 500) checkedRunningAt = Date.now();
      await sleep(25, undefined, { signal: options.signal });
    }
    throw reloadFailed(
      `Reload of ${this.name} did not bring up a new worker within ${options.timeoutMs ?? 60_000} ms (pid still ${before.pid}).`,
      { node: this.name },
    );
  }
}

function isNewWorker(before: IcingaApplicationStatus, now: IcingaApplicationStatus): boolean {
  return now.pid !== before.pid || now.program_start !== before.program_start;
}
