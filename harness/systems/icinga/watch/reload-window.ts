import { recordDisruption } from '../../../run/disruption.ts';
import type { EventSink } from '../../../run/history.ts';

/** A begin this soon after a reload ended, from a source that did not see it, is that reload seen late. */
const LATE_MS = 15_000;

/** Who saw a reload: the daemon's log, or its processes in /proc. */
export type ReloadSource = 'log' | 'proc';

/**
 * One reload of a watched daemon, recorded as one disruption however many sources see it. The
 * log shows the old worker told to go and the new listener; /proc shows a second worker until
 * one holds the listener. Each alone misses some (a journal at warning has no reload lines; a
 * reload quicker than a look shows in /proc only as the listener changing hands), so both are
 * read, and without this a user's reload counted twice. The window opens with the first source
 * that sees a reload begin and ends when every source that saw it begin has seen it end. A begin
 * from the other source within LATE_MS of the end (the journal trailing /proc) is the same reload:
 * that source's end of it is then no end of anything.
 */
export class ReloadWindow {
  readonly #events: EventSink;
  readonly #node: string;
  readonly #now: () => number;
  #end: (() => void) | undefined;
  /** The sources that saw the open reload begin and have not seen it end. */
  readonly #holding = new Set<ReloadSource>();
  /** The sources that saw the reload (open or last ended), and when the last one ended. */
  #seenBy = new Set<ReloadSource>();
  #endedAt = Number.NEGATIVE_INFINITY;
  /** Sources whose begin was the last reload seen late: their next end is theirs to swallow. */
  readonly #late = new Set<ReloadSource>();

  constructor(events: EventSink, node: string, now: () => number = () => performance.now()) {
    this.#events = events;
    this.#node = node;
    this.#now = now;
  }

  begin(source: ReloadSource): void {
    if (this.#end) {
      this.#holding.add(source);
      this.#seenBy.add(source);
      return;
    }
    if (!this.#seenBy.has(source) && this.#now() - this.#endedAt < LATE_MS) {
      this.#seenBy.add(source);
      this.#late.add(source);
      return;
    }
    this.#late.delete(source);
    this.#end = recordDisruption(this.#events, 'observe', { node: this.#node, kind: 'reload' });
    this.#holding.clear();
    this.#holding.add(source);
    this.#seenBy = new Set([source]);
  }

  end(source: ReloadSource): void {
    if (this.#late.delete(source)) return;
    if (!this.#holding.delete(source) || this.#holding.size > 0) return;
    this.#end?.();
    this.#end = undefined;
    this.#endedAt = this.#now();
  }

  /** The watch stops: an open reload ends now. */
  close(): void {
    this.#holding.clear();
    this.#late.clear();
    this.#end?.();
    this.#end = undefined;
  }
}
