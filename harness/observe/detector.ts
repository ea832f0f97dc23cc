import type { HistoryEvent } from '../run/history.ts';
import type { IncidentSignal } from './incidents.ts';

/**
 * A detector: a pure fold over the history. `init` makes its state, `step` takes one event and
 * returns the incident signals it shows (no clock, no I/O: time comes from the events), so the
 * same history gives the same incidents live and when `hunt report` re-reads an old run.
 * One file each in detectors/, default-exported; the registry loads them all.
 */
export interface Detector<State = unknown> {
  /** Its name in the registry (and in `--detectors`). */
  name: string;
  /** What it looks at, in a sentence (hunt list shows it). */
  summary: string;
  /** The incident kinds it can open. */
  kinds: readonly string[];
  init(): State;
  step(state: State, event: HistoryEvent): IncidentSignal[];
}

/** Declares a detector with its state type checked (the registry sees Detector<unknown>). */
export function defineDetector<State>(detector: Detector<State>): Detector<unknown> {
  return detector as Detector<unknown>;
}

/**
 * Reloads as the detectors see them: which masters are between reload-started and its end, and
 * when each last settled (history time). Reload side effects (refused connects, handshakes cut
 * short) within `graceMs` of a reload are expected, not incidents.
 */
export class ReloadWindows {
  private readonly reloading = new Map<string, number>();
  private readonly settledAt = new Map<string, number>();

  /** Feeds a reload event; other events are ignored. */
  see(event: HistoryEvent): void {
    if (event.source !== 'reload' || typeof event.master !== 'string') return;
    const master = event.master;
    if (event.type === 'reload-started') this.reloading.set(master, (this.reloading.get(master) ?? 0) + 1);
    if (event.type === 'reload-finished' || event.type === 'reload-failed') {
      this.reloading.set(master, Math.max(0, (this.reloading.get(master) ?? 0) - 1));
      this.settledAt.set(master, event.t);
    }
  }

  /** Is `master` reloading at history time t, or did it settle less than graceMs before? */
  around(master: string, t: number, graceMs: number): boolean {
    if ((this.reloading.get(master) ?? 0) > 0) return true;
    const settled = this.settledAt.get(master);
    return settled !== undefined && t - settled < graceMs;
  }

  /** Is any master reloading, or settled less than graceMs before t? */
  anyAround(t: number, graceMs: number): boolean {
    for (const master of new Set([...this.reloading.keys(), ...this.settledAt.keys()]))
      if (this.around(master, t, graceMs)) return true;
    return false;
  }

  /** When `master` last settled (history time), if ever. */
  lastSettled(master: string): number | undefined {
    return this.settledAt.get(master);
  }
}

/**
 * A reason that says the connection was cut, not that TLS failed: what a reload does to the
 * handshakes in flight (no socket is handed over between workers). OpenSSL 3 calls a peer that
 * vanished mid-handshake "unexpected eof"; Boost.Asio says "stream truncated" or "End of file".
 */
export function isInterruption(reason: string): boolean {
  return /unexpected eof|stream truncated|short read|end of file|connection reset|broken pipe|operation canceled|ECONNRESET|EPIPE|socket hang up|closed/i.test(
    reason,
  );
}
