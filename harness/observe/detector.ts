import type { HistoryEvent } from '../run/history.ts';
import type { IncidentSignal } from './incidents.ts';

export { DisruptionWindows } from '../seam/disruption.ts';

/** What every detector that reads disruption windows reads (seam/disruption.ts). */
export const DISRUPTION_EVENTS = ['*:disruption-started', '*:disruption-ended', 'reload:*'] as const;

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
  /**
   * The events it reads, "source:type" ("*" on either side): the history writes them whatever
   * its budget, so a detector never misses an input live or offline.
   */
  reads: readonly string[];
  init(): State;
  step(state: State, event: HistoryEvent): IncidentSignal[];
}

/**
 * A signal that adds findings to an incident the detector opened earlier (by its dedup key):
 * what a detector learns once the trouble is over (how long it lasted, what came after).
 */
export function findingsFor(
  kind: string,
  key: string,
  at: string,
  node: string | undefined,
  findings: Record<string, unknown>,
): IncidentSignal {
  return { kind, at, node, summary: '', attachTo: key, findings };
}

/** Declares a detector with its state type checked (the registry sees Detector<unknown>). */
export function defineDetector<State>(detector: Detector<State>): Detector<unknown> {
  return detector as Detector<unknown>;
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
