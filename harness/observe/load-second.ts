import type { HistoryEvent } from '../run/history.ts';

/**
 * One second of a load generator's traffic to a node, as the history records it (`load:second`):
 * the vocabulary a system's load generator writes and the detectors and reports read.
 */
export interface LoadSecond {
  node: string;
  offered: number;
  completed: number;
  keepAliveCompleted: number;
  freshCompleted: number;
  timeouts: number;
  resets: number;
  errors: number;
  dropped: number;
  inFlight: number;
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
}

/** A `load:second` event's fields, read defensively: a count that is missing or no number is 0. */
export function loadSecondOf(event: HistoryEvent): LoadSecond & { t: number; at: string } {
  const count = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) ? value : 0);
  const ms = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) ? value : null);
  return {
    t: event.t,
    at: event.at,
    node: String(event.node),
    offered: count(event.offered),
    completed: count(event.completed),
    keepAliveCompleted: count(event.keepAliveCompleted),
    freshCompleted: count(event.freshCompleted),
    timeouts: count(event.timeouts),
    resets: count(event.resets),
    errors: count(event.errors),
    dropped: count(event.dropped),
    inFlight: count(event.inFlight),
    p50Ms: ms(event.p50Ms),
    p99Ms: ms(event.p99Ms),
    maxMs: ms(event.maxMs),
  };
}
