import { Repeater } from '../../../observe/repeater.ts';
import type { History } from '../../../run/history.ts';
import { readHostProcess } from '../../../seam/host-process.ts';
import type { HostProcessNode } from '../../../seam/host-process-node.ts';
import { listenerOf } from './find-icinga.ts';

/** A port with no listener this long is recorded as silent (the daemon's reload: about a second). */
const SILENCE_MS = 3_000;
/** A daemon that has not listened yet is starting (its config loads), not silent, for this long. */
const STARTING_MS = 120_000;
/** The worker is said again this often, so the detector learns it after a reload it saw begin. */
const SAY_AGAIN_MS = 30_000;

/** The recorder's patience (tests shorten it). */
export interface ListenerTimes {
  silenceMs: number;
  startingMs: number;
  sayAgainMs: number;
}

/**
 * The worker recorder of a watch: the run's asks the daemon's API, which a watch never does; this
 * one reads /proc. The worker is the icinga2 process that holds the API port's listener. It
 * records what the stack's recorder records, so the same `workers` detector reads it:
 * `worker-seen` when the listener's owner changes (and every SAY_AGAIN_MS), `worker-silent` once
 * per spell of SILENCE_MS with no listener while the daemon runs. A daemon gone is the target's
 * to follow (daemon-gone); a daemon just (re)started has STARTING_MS to listen first.
 */
export class ListenerRecorder {
  private readonly history: History;
  private readonly master: HostProcessNode;
  private readonly port: number;
  private readonly repeater = new Repeater();
  /** The umbrella these observations are of; a new one starts them afresh. */
  private umbrella: { pid: number; sinceT: number; listened: boolean } | undefined;
  private said: { pid: number; t: number } | undefined;
  private silentSince: number | undefined;
  private silentSaid = false;

  private readonly times: ListenerTimes;

  constructor(history: History, master: HostProcessNode, port: number, times: Partial<ListenerTimes> = {}) {
    this.history = history;
    this.master = master;
    this.port = port;
    this.times = { silenceMs: SILENCE_MS, startingMs: STARTING_MS, sayAgainMs: SAY_AGAIN_MS, ...times };
  }

  watch(everyMs = 1_000): this {
    this.repeater.every(everyMs, () => this.look());
    return this;
  }

  stop(): void {
    this.repeater.stop();
  }

  /** One look (exposed for tests): who holds the listener now. */
  async look(): Promise<void> {
    const askedT = this.history.now();
    const pid = this.master.pid;
    if (!(await this.master.isRunning())) return;
    const umbrella = await readHostProcess(pid);
    if (!umbrella) return;
    if (this.umbrella?.pid !== pid) {
      this.umbrella = { pid, sinceT: askedT, listened: false };
      this.said = undefined;
      this.silentSince = undefined;
      this.silentSaid = false;
    }
    const owner = await listenerOf(umbrella, this.port);
    if (owner === undefined) {
      const startedAt = this.umbrella.listened ? askedT : this.umbrella.sinceT + this.times.startingMs;
      this.silentSince ??= startedAt;
      if (!this.silentSaid && askedT - this.silentSince >= this.times.silenceMs) {
        this.silentSaid = true;
        this.history.record('observe', 'worker-silent', {
          master: this.master.name,
          sinceT: this.silentSince,
          askedT,
          containerRunning: true,
          port: this.port,
        });
      }
      return;
    }
    this.umbrella.listened = true;
    this.silentSince = undefined;
    this.silentSaid = false;
    if (this.said?.pid === owner && askedT - this.said.t < this.times.sayAgainMs) return;
    this.said = { pid: owner, t: askedT };
    this.history.record('observe', 'worker-seen', { master: this.master.name, pid: owner, askedT });
  }
}
