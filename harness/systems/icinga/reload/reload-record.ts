import { DISRUPTION_EVENTS } from '../../../observe/detector.ts';
import type { DisruptionPhase } from '../../../run/disruption.ts';
import type { EventSink, HistoryEvent } from '../../../run/history.ts';
import type { StepFigures } from '../../../run/steps.ts';

/** Which reload: its step, its node, how it was asked for, and anything the caller adds (delayMs, changed). */
export interface ReloadFields extends Record<string, unknown> {
  step: number;
  master: string;
  via: string;
}

/** The rest of one reload's story; each call writes one event, and only the first ending counts. */
export interface ReloadRecord {
  /** The signal (or API call) went: the anchor faults timed to a reload wait for. */
  signalled(): void;
  /** A new worker serves (the barrier held); fields such as newPid, barrierMs, reconnectMs. */
  finished(fields?: Record<string, unknown>): void;
  /** No new worker: why, and whatever else is known (masterDown). */
  failed(error: string, fields?: Record<string, unknown>): void;
}

/**
 * Writes `reload-started` now and hands back the rest: `reload-signalled`, then `reload-finished`
 * or `reload-failed`. Every reloading driver tells a reload this one way, because detectors,
 * disruption windows, the chaos anchors and the status line all read these names and fields.
 */
export function recordReload(history: EventSink, fields: ReloadFields): ReloadRecord {
  const { step, master, via } = fields;
  history.record('reload', 'reload-started', fields);
  let ended = false;
  return {
    // The two anchors a nemesis may be timed after name their node as every anchor does.
    signalled: () => history.record('reload', 'reload-signalled', { step, master, node: master, via }),
    finished: (more = {}) => {
      if (ended) return;
      ended = true;
      history.record('reload', 'reload-finished', { ...more, step, master, node: master });
    },
    failed: (error, more = {}) => {
      if (ended) return;
      ended = true;
      history.record('reload', 'reload-failed', { step, master, error, ...more });
    },
  };
}

/** The machinery's step, read from these events: a reload begun, and one that ended either way. */
export function reloadStepOf(event: HistoryEvent): 'begun' | 'done' | undefined {
  if (event.source !== 'reload') return undefined;
  if (event.type === 'reload-started') return 'begun';
  if (event.type === 'reload-finished' || event.type === 'reload-failed') return 'done';
  return undefined;
}

/**
 * A reload's figures for the report and the matrix: its master, whether a new worker served, the
 * barrier (signal -> new worker serving) and the reconnect (signal -> every endpoint back, only
 * when all came back in time); a step whose endpoints did not is a shortfall of its own.
 */
export const reloadFigures: StepFigures = {
  sampleOf(event) {
    if (reloadStepOf(event) !== 'done') return undefined;
    const phasesMs: Record<string, number> = {};
    if (typeof event.barrierMs === 'number') phasesMs.barrier = event.barrierMs;
    if (typeof event.reconnectMs === 'number') phasesMs.reconnect = event.reconnectMs;
    return { node: String(event.master), ok: event.type === 'reload-finished', phasesMs };
  },
  shortfallOf: (event) =>
    event.source === 'reload' && event.type === 'reconnect-timeout' ? 'reconnect-timeout' : undefined,
  phases: {
    barrier: 'signal -> new worker serving',
    reconnect: 'signal -> every endpoint back',
  },
};

/**
 * A reload is a disruption of its master from its start to its end, under the names the report
 * has always read: the detectors hand this to their disruption windows.
 */
export function reloadDisruptionOf(event: HistoryEvent): DisruptionPhase | undefined {
  const step = reloadStepOf(event);
  if (!step || typeof event.master !== 'string') return undefined;
  return { node: event.master, kind: 'reload', phase: step === 'begun' ? 'started' : 'ended' };
}

/** The events a nemesis may be timed after on an Icinga node (`schedule.after`). */
export const ICINGA_ANCHORS = {
  'reload-signalled': "the reload's signal (or API call) went to the node",
  'listener-up': "the node's new worker listens, as its log says",
  'reload-finished': 'a new worker serves: the reload is over',
} as const;

/** What a detector that reads disruption windows with reloads among them reads. */
export const RELOAD_DISRUPTION_EVENTS = [...DISRUPTION_EVENTS, 'reload:*'] as const;
