import type { HistoryEvent } from '../run/history.ts';

/**
 * Which anchors each anchored nemesis spec fired after in a run, read from its history: what
 * `hunt run --replay` holds a new run to. The live rule (one fault at a time per spec) depends on
 * how long a fault takes against the pace of the reloads; a replay at another pace would skip
 * other anchors. With a plan it fires after exactly the anchors the original fired after.
 */
export class ChaosPlan {
  private readonly fired: ReadonlyMap<string, ReadonlySet<number>>;

  private constructor(fired: Map<string, Set<number>>) {
    this.fired = fired;
  }

  /**
   * The plan of a run's history, or undefined when no nemesis event names its spec (a run
   * recorded before specs were numbered, or one without chaos): the live rule applies then.
   */
  static fromHistory(events: Iterable<HistoryEvent>): ChaosPlan | undefined {
    const fired = new Map<string, Set<number>>();
    let numbered = false;
    for (const event of events) {
      if (event.source !== 'nemesis' || typeof event.spec !== 'string') continue;
      numbered = true;
      const anchors = fired.get(event.spec) ?? new Set<number>();
      fired.set(event.spec, anchors);
      // A fault that failed to start still took its anchor: the replay tries it there again.
      const took = event.type === 'nemesis-started' || event.type === 'nemesis-failed';
      if (took && typeof event.anchorIndex === 'number') anchors.add(event.anchorIndex);
    }
    return numbered ? new ChaosPlan(fired) : undefined;
  }

  /** Whether spec `spec` fired after its `anchorIndex`-th anchor in the original run. */
  fires(spec: string, anchorIndex: number): boolean {
    return this.fired.get(spec)?.has(anchorIndex) ?? false;
  }
}
