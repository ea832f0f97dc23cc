import { DISRUPTION_EVENTS } from '../../../observe/detector.ts';
import type { DisruptionPhase } from '../../../run/disruption.ts';
import type { EventSink, HistoryEvent } from '../../../run/history.ts';

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
