import type { Detector, IncidentSignal } from '../seam/detector.ts';

export { type DisruptionReader, DisruptionWindows } from '../run/disruption.ts';

/**
 * What every detector that reads disruption windows reads (run/disruption.ts); one that hands the
 * windows its system's own disruption events reads those too.
 */
export const DISRUPTION_EVENTS = ['*:disruption-started', '*:disruption-ended'] as const;

export type { Detector } from '../seam/detector.ts';

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
