import { Repeater } from '../../../observe/repeater.ts';
import type { History } from '../../../run/history.ts';
import { readHostProcess } from '../../../seam/host-process.ts';
import type { HostProcessNode } from '../../../seam/host-process-node.ts';
import { listenerOf, workersOf } from './find-icinga.ts';
import { ReloadWindow } from './reload-window.ts';

/** A port with no listener this long is recorded as silent (the daemon's reload: about a second). */
const SILENCE_MS = 3_000;
/** A daemon that has not listened yet is starting (its config loads), not silent, for this long. */
const STARTING_MS = 120_000;
/** The worker is said again this often, so the detector learns it after a reload. */
const SAY_AGAIN_MS = 30_000;
/**
 * The listener is looked for this often while nothing changes (and at every look while the
 * workers change, a reload is open or the port is silent): it reads the namespace's whole TCP
 * tables, thousands of lines on a busy master, where the workers are two small reads.
 */
const SCAN_EVERY_MS = 5_000;
/** The longest a reload seen in /proc is taken to last (then it is over anyway). */
const RELOAD_MAX_MS = 60_000;

/** The recorder's patience (tests shorten it). */
export interface ListenerTimes {
  silenceMs: number;
  startingMs: number;
  sayAgainMs: number;
  scanEveryMs: number;
}

/**
 * The worker recorder of a watch: the run's asks the daemon's API, which a watch never does; this
 * one reads /proc. The worker is the icinga2 process that holds the API port's listener. It
 * records what the stack's recorder records, so the same `workers` detector reads it:
 * `worker-seen` when the listener's owner changes (and every SAY_AGAIN_MS), `worker-silent` once
 * per spell of SILENCE_MS with no listener while the daemon runs.
 *
 * Under one umbrella a new worker is always a reload (the daemon's own after a config sync, the
 * user's, Director's): the umbrella starts the new worker beside the old one. So the reload is
 * read here too, as a disruption from the second worker (or, for one quicker than a look, the
 * listener changing hands) until one worker holds the listener again: the log may not show it
 * (a journal at the syslog feature's default severity, warning, has no reload lines). A new
 * umbrella is a restart, which the target follows; a daemon just (re)started has STARTING_MS to
 * listen first.
 */
export class ListenerRecorder {
  private readonly history: History;
  private readonly master: HostProcessNode;
  private readonly port: number;
  private readonly proc: string;
  private readonly times: ListenerTimes;
  private readonly repeater = new Repeater();
  /** The umbrella these observations are of; a new one starts them afresh. */
  private umbrella: { pid: number; sinceT: number; listened: boolean } | undefined;
  private owner: number | undefined;
  private said: { pid: number; t: number } | undefined;
  private silentSince: number | undefined;
  private silentSaid = false;
  /** The reload this recorder sees open, since when (the window may be shared with the log's view). */
  private reload: { sinceT: number } | undefined;
  private readonly reloads: ReloadWindow;
  /** The workers at the last look, and when the listener was last looked for. */
  private workerPids = '';
  private scannedT = Number.NEGATIVE_INFINITY;

  constructor(
    history: History,
    master: HostProcessNode,
    port: number,
    options: Partial<ListenerTimes> & { proc?: string; reloads?: ReloadWindow } = {},
  ) {
    this.history = history;
    this.master = master;
    this.port = port;
    this.proc = options.proc ?? '/proc';
    this.reloads = options.reloads ?? new ReloadWindow(history, master.name);
    this.times = {
      silenceMs: options.silenceMs ?? SILENCE_MS,
      startingMs: options.startingMs ?? STARTING_MS,
      sayAgainMs: options.sayAgainMs ?? SAY_AGAIN_MS,
      scanEveryMs: options.scanEveryMs ?? SCAN_EVERY_MS,
    };
  }

  watch(everyMs = 1_000): this {
    this.repeater.every(everyMs, () => this.look());
    return this;
  }

  stop(): void {
    this.repeater.stop();
    this.endReload();
  }

  /** One look (exposed for tests): the umbrella's workers, and who holds the listener now. */
  async look(): Promise<void> {
    const askedT = this.history.now();
    const pid = this.master.pid;
    if (!(await this.master.isRunning())) return this.endReload();
    const umbrella = await readHostProcess(pid, this.proc);
    if (!umbrella) return this.endReload();
    if (this.umbrella?.pid !== pid) {
      this.endReload();
      this.umbrella = { pid, sinceT: askedT, listened: false };
      this.owner = undefined;
      this.scannedT = Number.NEGATIVE_INFINITY;
      this.said = undefined;
      this.silentSince = undefined;
      this.silentSaid = false;
    }
    const workers = await workersOf(umbrella, this.proc);
    if (workers.length > 1 && !this.reload) this.beginReload(askedT);
    const workerPids = workers.map((worker) => worker.pid).join(' ');
    const changed = workerPids !== this.workerPids;
    this.workerPids = workerPids;
    const due =
      changed ||
      this.reload !== undefined ||
      this.silentSince !== undefined ||
      askedT - this.scannedT >= this.times.scanEveryMs;
    if (!due) return;
    this.scannedT = askedT;
    const owner = await listenerOf(umbrella, this.port, this.proc, workers);
    if (owner === undefined) return this.silence(askedT);
    // The listener changed hands between two looks: a reload quicker than a look.
    if (this.owner !== undefined && owner !== this.owner && !this.reload) this.beginReload(askedT);
    this.owner = owner;
    this.umbrella.listened = true;
    this.silentSince = undefined;
    this.silentSaid = false;
    if (this.said?.pid !== owner || askedT - this.said.t >= this.times.sayAgainMs) {
      this.said = { pid: owner, t: askedT };
      this.history.record('observe', 'worker-seen', { master: this.master.name, pid: owner, askedT });
    }
    const settled = workers.length <= 1 || askedT - (this.reload?.sinceT ?? askedT) >= RELOAD_MAX_MS;
    if (settled) this.endReload();
  }

  private silence(askedT: number): void {
    if (this.reload && askedT - this.reload.sinceT >= RELOAD_MAX_MS) this.endReload();
    const umbrella = this.umbrella as { sinceT: number; listened: boolean };
    const startedAt = umbrella.listened ? askedT : umbrella.sinceT + this.times.startingMs;
    this.silentSince ??= startedAt;
    if (this.silentSaid || askedT - this.silentSince < this.times.silenceMs) return;
    this.silentSaid = true;
    this.history.record('observe', 'worker-silent', {
      master: this.master.name,
      sinceT: this.silentSince,
      askedT,
      containerRunning: true,
      port: this.port,
    });
  }

  private beginReload(askedT: number): void {
    this.reloads.begin('proc');
    this.reload = { sinceT: askedT };
  }

  private endReload(): void {
    if (this.reload) this.reloads.end('proc');
    this.reload = undefined;
  }
}
