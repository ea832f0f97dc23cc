import { createWriteStream, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { makeDirectory } from '../fs-directory.ts';

/** One thing that happened: an action or an observation. */
export interface HistoryEvent {
  /** Milliseconds since the history was opened (monotonic clock). */
  t: number;
  /** Wall clock, ISO 8601, to line events up with Icinga's logs and captures. */
  at: string;
  /** Who reports it: swarm, proxy, reload, observe, ... */
  source: string;
  type: string;
  [field: string]: unknown;
}

export interface EventSink {
  record(source: string, type: string, fields?: Record<string, unknown>): void;
}

/** For code run without a history (unit tests, ad-hoc tools). */
export const discardEvents: EventSink = { record() {} };

/**
 * Events that come by the hundred per step (every proxied connection; a system adds its own,
 * such as its simulated clients' connects): useful for the first stretch of a run, noise in an
 * overnight soak. They share a smaller budget so that they cannot crowd out the events a report
 * is made of (steps, failures, incidents, resources, toxics).
 */
const ROUTINE_EVENTS = ['proxy:connection-opened', 'proxy:connection-closed'];

const RECENT_EVENTS = 10_000;

export interface HistoryOptions {
  /** All events together stop being written past this many bytes (default 512 MiB), essential ones aside. */
  maxBytes?: number;
  /** Routine events stop being written past this many bytes (default 128 MiB). */
  routineBytes?: number;
  /** More routine events ("source:type"), beside the proxy's: the system's (`routineEvents`). */
  routineEvents?: readonly string[];
  /**
   * Events that are written whatever the budget ("source:type"): what the run's detectors read
   * (they are bounded by their producers: log matches per pattern, reloads, worker changes).
   */
  essential?: (key: string) => boolean;
}

/** "source:type" against "source:type" patterns where either side may be "*". */
export function matchesEventKey(patterns: readonly string[]): (key: string) => boolean {
  const exact = new Set(patterns.filter((pattern) => !pattern.includes('*')));
  const wild = patterns
    .filter((pattern) => pattern.includes('*'))
    .map((pattern) => pattern.split(':') as [string, string]);
  return (key) => {
    if (exact.has(key)) return true;
    const [source, type] = key.split(':') as [string, string];
    return wild.some(([s, t]) => (s === '*' || s === source) && (t === '*' || t === type));
  };
}

/**
 * The run's append-only event history, history.jsonl: the single source of truth reports are
 * derived from. Bounded: routine events (ROUTINE_EVENTS and the system's) past `routineBytes`, and any event past
 * `maxBytes`, are counted but not written; one `history-truncated` event says how many of each
 * type were dropped when it closes; essential events (what the detectors read) are always
 * written. Subscribers see every event, or with `{ written: true }` only the events the file
 * holds: live detection reads exactly what `hunt report` will read.
 */
export class History implements EventSink {
  readonly path: string;
  private readonly origin = performance.now();
  private readonly stream: WriteStream;
  private readonly maxBytes: number;
  private readonly routineBytes: number;
  private written = 0;
  private writtenRoutine = 0;
  private readonly dropped = new Map<string, number>();
  private readonly listeners = new Set<(event: HistoryEvent) => void>();
  private readonly writtenListeners = new Set<(event: HistoryEvent) => void>();
  private readonly essential: (key: string) => boolean;
  private readonly routine: ReadonlySet<string>;
  private closed = false;
  /** The first write error (a full disk): nothing more is written after it, so no line is torn twice. */
  private failure: Error | undefined;
  private readonly failureListeners = new Set<(error: Error) => void>();
  /** The last RECENT_EVENTS events that are not routine, for parts that start late (catch-up). */
  private readonly recentEvents: HistoryEvent[] = [];

  private constructor(path: string, stream: WriteStream, options: HistoryOptions) {
    this.path = path;
    this.stream = stream;
    this.maxBytes = options.maxBytes ?? 512 * 1024 * 1024;
    this.routineBytes = options.routineBytes ?? 128 * 1024 * 1024;
    this.essential = options.essential ?? (() => false);
    this.routine = new Set([...ROUTINE_EVENTS, ...(options.routineEvents ?? [])]);
    stream.on('error', this.fail);
  }

  // Write callbacks hear the error first ('error' waits for the file to close).
  private readonly fail = (error: Error | null | undefined): void => {
    if (!error || this.failure) return;
    this.failure = error;
    for (const listener of this.failureListeners) listener(error);
  };

  static async open(path: string, options: HistoryOptions = {}): Promise<History> {
    await makeDirectory(dirname(path));
    return new History(path, createWriteStream(path, { flags: 'a' }), options);
  }

  /** The history's clock now (ms since it opened): what the next event's `t` would be. */
  now(): number {
    return Math.round((performance.now() - this.origin) * 10) / 10;
  }

  record(source: string, type: string, fields: Record<string, unknown> = {}): void {
    if (this.closed) return;
    // The frame comes last: a field named like it (a toxic's "type") cannot hide what happened.
    const event: HistoryEvent = {
      ...fields,
      t: this.now(),
      at: new Date().toISOString(),
      source,
      type,
    };
    const key = `${source}:${type}`;
    const routine = this.routine.has(key);
    if (!routine) {
      this.recentEvents.push(event);
      if (this.recentEvents.length > RECENT_EVENTS) this.recentEvents.splice(0, RECENT_EVENTS / 10);
    }
    for (const listener of this.listeners) listener(event);
    const line = `${JSON.stringify(event)}\n`;
    const overBudget =
      !this.essential(key) &&
      (this.written + line.length > this.maxBytes ||
        (routine && this.writtenRoutine + line.length > this.routineBytes));
    if (overBudget) {
      this.dropped.set(key, (this.dropped.get(key) ?? 0) + 1);
      return;
    }
    if (this.failure) return;
    this.written += line.length;
    if (routine) this.writtenRoutine += line.length;
    this.stream.write(line, this.fail);
    for (const listener of this.writtenListeners) listener(event);
  }

  /** The write error that stopped the file (ENOSPC, ...), if any; live subscribers still see events. */
  get writeError(): Error | undefined {
    return this.failure;
  }

  /** Called once with the first write error. */
  onWriteError(listener: (error: Error) => void): void {
    this.failureListeners.add(listener);
    if (this.failure) listener(this.failure);
  }

  /** Recent events that are not routine (at most RECENT_EVENTS), oldest first: a late starter's catch-up. */
  recent(): readonly HistoryEvent[] {
    return this.recentEvents;
  }

  /**
   * Hears each event as it is recorded. `written: true` hears only the events the file holds, in
   * its order (live detection: the same input `hunt report` reads); otherwise every event.
   */
  subscribe(listener: (event: HistoryEvent) => void, options: { written?: boolean } = {}): () => void {
    const set = options.written ? this.writtenListeners : this.listeners;
    set.add(listener);
    return () => set.delete(listener);
  }

  /** Resolves once every event recorded so far is in the file (for readers during a run). */
  flushed(): Promise<void> {
    if (this.closed || this.failure) return Promise.resolve();
    return new Promise((resolve) => this.stream.write('', () => resolve()));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.failure) return;
    if (this.dropped.size > 0) {
      const event = {
        t: this.now(),
        at: new Date().toISOString(),
        source: 'history',
        type: 'history-truncated',
        dropped: Object.fromEntries(this.dropped),
      };
      this.stream.write(`${JSON.stringify(event)}\n`);
    }
    // end() reports a write error of its own through 'error' (above); either way it is done.
    await new Promise<void>((resolve) => {
      this.stream.once('error', () => resolve());
      this.stream.end(resolve);
    });
  }
}
