import type { HistoryEvent } from '../run/history.ts';

/** The nemesis events a plan is read from; the runner keeps them whatever the history's budget. */
export const PLAN_EVENTS = ['nemesis:nemesis-started', 'nemesis:nemesis-failed', 'nemesis:nemesis-skipped'];

/** What a replay does at a due anchor: fire as the original did, pass as it did, or decide live. */
export type PlannedStep = 'fire' | 'pass' | 'live';

interface SpecPlan {
  fired: Set<number>;
  /** The last anchor the original decided on (fired, failed or passed). */
  reach: number;
}

/**
 * Which anchors each anchored nemesis spec fired after in a run, read from its history: what
 * `hunt run --replay` holds a new run to. The live rule (one fault at a time per spec) depends on
 * how long a fault takes against the pace of the reloads; a replay at another pace would skip
 * other anchors. With a plan it fires after exactly the anchors the original fired after, and
 * past the last anchor the original decided on (a run cut short) by the live rule again.
 */
export class ChaosPlan {
  private readonly specs: ReadonlyMap<string, SpecPlan>;

  private constructor(specs: Map<string, SpecPlan>) {
    this.specs = specs;
  }

  /**
   * The plan of a run's history (streamed: a soak's history is large), or undefined when no
   * nemesis event names its spec (a run recorded before specs were numbered, or one without
   * chaos): the live rule applies then.
   */
  static async fromHistory(
    events: Iterable<HistoryEvent> | AsyncIterable<HistoryEvent>,
  ): Promise<ChaosPlan | undefined> {
    const specs = new Map<string, SpecPlan>();
    for await (const event of events) {
      if (event.source !== 'nemesis' || typeof event.spec !== 'string') continue;
      if (typeof event.anchorIndex !== 'number') continue;
      const plan = specs.get(event.spec) ?? { fired: new Set<number>(), reach: 0 };
      specs.set(event.spec, plan);
      plan.reach = Math.max(plan.reach, event.anchorIndex);
      // A fault that failed to start still took its anchor: the replay tries it there again.
      if (event.type === 'nemesis-started' || event.type === 'nemesis-failed')
        plan.fired.add(event.anchorIndex);
    }
    return specs.size > 0 ? new ChaosPlan(specs) : undefined;
  }

  /** What spec `spec` does at its `anchorIndex`-th anchor, as the original did it. */
  step(spec: string, anchorIndex: number): PlannedStep {
    const plan = this.specs.get(spec);
    if (!plan || anchorIndex > plan.reach) return 'live';
    return plan.fired.has(anchorIndex) ? 'fire' : 'pass';
  }
}
