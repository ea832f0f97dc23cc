import { Repeater } from '../../observe/repeater.ts';
import type { History } from '../../run/history.ts';
import type { StartedIcingaNode } from './stack/icinga-node.ts';

/** An API silent this long is recorded as silent (a reload keeps it silent for about a second). */
const SILENCE_MS = 3000;

/**
 * Asks each master's API for its worker pid every `everyMs` and records what changes:
 * `worker-seen` when the pid differs from the last answer, `worker-silent` once per spell of
 * SILENCE_MS without an answer (with whether the container still runs). Each event carries the
 * history time the question was asked (`askedT`), so the workers detector can tell an answer from
 * before a reload from one after it.
 */
export class WorkerRecorder {
  private readonly history: History;
  private readonly repeater = new Repeater();
  private readonly last = new Map<string, number>();
  private readonly silentSince = new Map<string, number>();
  private readonly reported = new Set<string>();

  constructor(history: History) {
    this.history = history;
  }

  watch(masters: readonly StartedIcingaNode[], everyMs: number): this {
    this.repeater.every(everyMs, async () => {
      for (const master of masters) await this.look(master);
    });
    return this;
  }

  stop(): void {
    this.repeater.stop();
  }

  private async look(master: StartedIcingaNode): Promise<void> {
    const askedT = this.history.now();
    const app = await master.api.icingaApplication().catch(() => undefined);
    // Stopped while it asked: the history may be closing, and the answer is after the run.
    if (this.repeater.isStopped) return;
    if (!app) {
      const since = this.silentSince.get(master.name) ?? askedT;
      this.silentSince.set(master.name, since);
      if (this.history.now() - since >= SILENCE_MS && !this.reported.has(master.name)) {
        this.reported.add(master.name);
        const containerRunning = await master.isRunning();
        if (this.repeater.isStopped) return;
        this.history.record('observe', 'worker-silent', {
          master: master.name,
          sinceT: since,
          askedT,
          containerRunning,
        });
      }
      return;
    }
    this.silentSince.delete(master.name);
    this.reported.delete(master.name);
    if (this.last.get(master.name) !== app.pid) {
      this.last.set(master.name, app.pid);
      this.history.record('observe', 'worker-seen', { master: master.name, pid: app.pid, askedT });
    }
  }
}
