import type { EventSink, HistoryEvent } from './history.ts';

/**
 * Disruption windows: "this node is being disrupted on purpose, from here to here". Every
 * disruption the harness makes (a remedy restart, a nemesis's fault) or sees the system make (a
 * context swap, a log stall) is recorded as one, and detectors read the windows, so the harness
 * never reports its own doing as a fault. The family: `disruption-started` / `disruption-ended`
 * from any source (with `node` and `kind`). A system may tell more of its own events as
 * disruptions (a step that restarts a node, under the names its report has always read): it
 * hands its reader to the windows its detectors keep.
 */
export interface DisruptionPhase {
  node: string;
  kind: string;
  phase: 'started' | 'ended';
}

/** Reads a system's own events as disruption phases (undefined: not one of them). */
export type DisruptionReader = (event: HistoryEvent) => DisruptionPhase | undefined;

export function disruptionOf(event: HistoryEvent): DisruptionPhase | undefined {
  if (event.type !== 'disruption-started' && event.type !== 'disruption-ended') return undefined;
  if (typeof event.node !== 'string') return undefined;
  return {
    node: event.node,
    kind: typeof event.kind === 'string' ? event.kind : 'unknown',
    phase: event.type === 'disruption-started' ? 'started' : 'ended',
  };
}

/**
 * The kind of a disruption the system under test made itself (a context swap the node logged),
 * or undefined for anything else: a nemesis's fault and a remedy's restart are the harness's own
 * doing, causes rather than trials.
 */
export function ownDisruptionKind(event: HistoryEvent): string | undefined {
  if (event.type !== 'disruption-started' || typeof event.kind !== 'string') return undefined;
  if (event.source === 'nemesis' || event.source === 'remedy') return undefined;
  return event.kind;
}

/**
 * Records a disruption's start now and returns what records its end (call it once, also when
 * the disruption failed). `source` is who disrupts: 'remedy', 'nemesis', ...
 */
export function recordDisruption(
  events: EventSink,
  source: string,
  disruption: { node: string; kind: string } & Record<string, unknown>,
): (fields?: Record<string, unknown>) => void {
  events.record(source, 'disruption-started', disruption);
  let ended = false;
  return (fields = {}) => {
    if (ended) return;
    ended = true;
    events.record(source, 'disruption-ended', { node: disruption.node, kind: disruption.kind, ...fields });
  };
}

/**
 * Disruptions as the detectors see them: which nodes are between a disruption's start and end,
 * and when each last settled (history time). Side effects (refused connects, handshakes cut
 * short, a new worker pid) within `graceMs` of a disruption are expected, not incidents.
 */
export class DisruptionWindows {
  private readonly open = new Map<string, number>();
  private readonly settledAt = new Map<string, number>();
  private readonly systemDisruption: DisruptionReader | undefined;

  /** `systemDisruption`: the system's own events that are disruptions too, where it has some. */
  constructor(systemDisruption?: DisruptionReader) {
    this.systemDisruption = systemDisruption;
  }

  /** Feeds an event; returns the disruption phase it is, if any. */
  see(event: HistoryEvent): DisruptionPhase | undefined {
    const disruption = disruptionOf(event) ?? this.systemDisruption?.(event);
    if (!disruption) return undefined;
    const { node } = disruption;
    if (disruption.phase === 'started') this.open.set(node, (this.open.get(node) ?? 0) + 1);
    else {
      this.open.set(node, Math.max(0, (this.open.get(node) ?? 0) - 1));
      this.settledAt.set(node, event.t);
    }
    return disruption;
  }

  /** Is `node` being disrupted at history time t, or did it settle less than graceMs before? */
  around(node: string, t: number, graceMs: number): boolean {
    if ((this.open.get(node) ?? 0) > 0) return true;
    const settled = this.settledAt.get(node);
    return settled !== undefined && t - settled < graceMs;
  }

  /** Is any node disrupted, or settled less than graceMs before t? */
  anyAround(t: number, graceMs: number): boolean {
    for (const node of new Set([...this.open.keys(), ...this.settledAt.keys()]))
      if (this.around(node, t, graceMs)) return true;
    return false;
  }

  /** When `node` last settled (history time), if ever. */
  lastSettled(node: string): number | undefined {
    return this.settledAt.get(node);
  }
}
