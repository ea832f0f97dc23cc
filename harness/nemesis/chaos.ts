import { ErrorCodes, HuntError } from '../errors.ts';
import { sleepUntil } from '../proxy/toxic.ts';
import type { Random } from '../random.ts';
import { recordDisruption } from '../run/disruption.ts';
import type { EventSink, History, HistoryEvent } from '../run/history.ts';
import type { StartedTarget } from '../seam/target.ts';
import type { ChaosPlan } from './chaos-plan.ts';
import { checkSchedule, type NemesisSpec, type NemesisType } from './nemesis.ts';
import { nemesisType } from './nemesis-registry.ts';

/** How long stop() waits for a fault's start or heal (each an engine call or two). */
const STOP_WAIT_MS = 15_000;

export interface ChaosOptions {
  /** Tells this chaos's specs from another's in the same run (the runner numbers them 0, 1, ...). */
  id?: number;
  /** The original run's plan (`hunt run --replay`): anchored specs fire after its anchors only. */
  replay?: ChaosPlan;
  /** The system's anchor events (`SystemUnderTest.anchors`): a spec timed after any other is refused. */
  anchors?: Readonly<Record<string, string>>;
}

function withDeadline(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  return Promise.race([work.then(() => undefined), deadline]).finally(() => clearTimeout(timer));
}

interface Armed {
  /** `<chaos id>.<index>`: names the spec in its events, so a replay's plan finds it again. */
  id: string;
  spec: NemesisSpec;
  type: NemesisType<object>;
  attributes: object;
  random: Random;
  /** Anchors seen on the node, and faults started. */
  anchors: number;
  started: number;
  /** A fault of this spec is on: the next anchor is skipped (one at a time per spec), as `nemesis-skipped`. */
  active: boolean;
}

/**
 * Runs nemeses on a started target: each spec's schedule, anchored to the history's events
 * (the system's anchors, on its node) or drawn from the seed. Every fault is
 * recorded as `nemesis-started` (the anchor, the offset, the fault's number) and `nemesis-healed`,
 * and as a disruption window of its node, so the report shows it beside the incidents and a
 * replay (same seed, same reload sequence) repeats it at the same offsets; given the original's
 * plan, after the same anchors too. Bounded: one fault at a time per spec (an anchor passed while
 * one is on is a `nemesis-skipped` event), `count` faults per spec, none longer than
 * MAX_FAULT_MS. stop() heals whatever is on.
 */
export class Chaos {
  private readonly target: StartedTarget;
  private readonly events: EventSink;
  private readonly armed: Armed[];
  private readonly plan: ChaosPlan | undefined;
  /** Aborted by stop(): every pending wait (offsets, fault lengths) ends. */
  private readonly stopping = new AbortController();
  private readonly heals = new Map<number, () => Promise<void>>();
  private readonly running = new Set<Promise<void>>();
  private readonly unsubscribe: () => void;
  private faults = 0;
  private stopped = false;

  private constructor(target: StartedTarget, history: History, armed: Armed[], plan: ChaosPlan | undefined) {
    this.target = target;
    this.events = history;
    this.armed = armed;
    this.plan = plan;
    this.unsubscribe = history.subscribe((event) => this.onEvent(event));
  }

  /**
   * Checks every spec (unknown nemesis, node, attribute or schedule: HH_USAGE before anything
   * acts), then arms them. `random(name)` gives each spec its own seeded generator.
   */
  static start(
    target: StartedTarget,
    specs: readonly NemesisSpec[],
    random: (part: string) => Random,
    options: ChaosOptions = {},
  ): Chaos {
    const id = options.id ?? 0;
    const nodes = new Set(target.nodes.map((node) => node.name));
    const armed = specs.map((spec, index): Armed => {
      const type = nemesisType(spec.nemesis);
      if (!nodes.has(spec.node))
        throw new HuntError(
          ErrorCodes.USAGE,
          `Nemesis ${spec.nemesis}: no node "${spec.node}" (nodes: ${[...nodes].join(', ')}).`,
        );
      checkSchedule(spec, options.anchors);
      const attributes = type.parse(spec.attributes ?? {});
      const unable = type.check?.(target, target.node(spec.node), attributes);
      if (unable) throw new HuntError(ErrorCodes.USAGE, `Nemesis ${spec.nemesis}: ${unable}`);
      return {
        id: `${id}.${index}`,
        spec,
        type,
        attributes,
        random: random(`nemesis:${index}:${spec.nemesis}:${spec.node}`),
        anchors: 0,
        started: 0,
        active: false,
      };
    });
    const chaos = new Chaos(target, target.run.history, armed, options.replay);
    for (const entry of armed) {
      const schedule = entry.spec.schedule;
      if ('atMs' in schedule) {
        const times = schedule.everyMs === undefined ? 1 : (schedule.count ?? 1);
        for (let k = 0; k < times; k++) {
          const at = schedule.atMs + k * (schedule.everyMs ?? 0);
          chaos.later(at, () => chaos.inject(entry, { anchor: 'start', offsetMs: at }));
        }
        continue;
      }
      if (!('seeded' in schedule)) continue;
      // Seeded moments, drawn now: the same seed gives the same offsets from the start.
      const moments = Array.from({ length: schedule.count }, () =>
        Math.round(entry.random() * schedule.withinMs),
      );
      for (const at of moments.sort((a, b) => a - b))
        chaos.later(at, () => chaos.inject(entry, { anchor: 'start', offsetMs: at }));
    }
    return chaos;
  }

  /** Faults started so far. */
  get count(): number {
    return this.faults;
  }

  /** Whether a fault is armed (its anchor came, its offset runs) or on: a test paces by it. */
  get busy(): boolean {
    return this.armed.some((entry) => entry.active);
  }

  /**
   * Stops scheduling and heals every fault that is on, the newest first (a later fault may stand
   * in the way of an earlier one's heal: a paused node takes no `docker exec`). Bounded: a fault
   * start or heal that hangs (an engine call) is given STOP_WAIT_MS, so the run's teardown goes on.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe();
    this.stopping.abort();
    await withDeadline(Promise.all([...this.running]), STOP_WAIT_MS);
    for (const [fault, heal] of [...this.heals].reverse())
      await withDeadline(this.heal(fault, heal, 'chaos stopped'), STOP_WAIT_MS);
  }

  private onEvent(event: HistoryEvent): void {
    if (this.stopped) return;
    const node = event.node;
    for (const entry of this.armed) {
      const schedule = entry.spec.schedule;
      if (!('after' in schedule) || schedule.after !== event.type || node !== entry.spec.node) continue;
      entry.anchors++;
      const from = schedule.from ?? 1;
      if (entry.anchors < from || (entry.anchors - from) % (schedule.every ?? 1) !== 0) continue;
      if (entry.started >= (schedule.count ?? 100)) continue;
      // The anchor's number on its node makes a replay comparable: the same k-th signal, the same offset.
      const anchor = {
        anchor: event.type,
        anchorIndex: entry.anchors,
        anchorAt: event.at,
        anchorT: event.t,
        offsetMs: schedule.offsetMs,
      };
      const anchorIndex = entry.anchors;
      // After the anchor in the history (a listener runs before the event is written).
      const skipped = (why: string) =>
        queueMicrotask(() =>
          this.events.record('nemesis', 'nemesis-skipped', {
            spec: entry.id,
            nemesis: entry.spec.nemesis,
            node: entry.spec.node,
            anchor: event.type,
            anchorIndex,
            why,
          }),
        );
      const planned = this.plan?.step(entry.id, anchorIndex) ?? 'live';
      if (planned === 'pass') {
        skipped('not after this anchor in the replayed run');
        continue;
      }
      if (entry.active) {
        // A replay that falls behind its original (a slower heal, a faster pace) says so.
        skipped(
          planned === 'fire'
            ? 'the replayed run fired here, but its last fault is still on: the replay diverges'
            : 'its last fault is still on',
        );
        continue;
      }
      entry.active = true;
      this.later(schedule.offsetMs, () => this.inject(entry, anchor));
    }
  }

  /** Runs `work` `ms` from now, never sooner by performance.now() (a fault's offset is a promise). */
  private later(ms: number, work: () => Promise<void>): void {
    sleepUntil(performance.now() + ms, this.stopping.signal).then(
      () => this.track(work()),
      () => undefined,
    );
  }

  private track(work: Promise<void>): void {
    const guarded = work.catch(() => undefined);
    this.running.add(guarded);
    void guarded.finally(() => this.running.delete(guarded));
  }

  private async inject(entry: Armed, anchor: Record<string, unknown>): Promise<void> {
    const schedule = entry.spec.schedule;
    const seeded = 'seeded' in schedule || 'atMs' in schedule;
    if (this.stopped || (seeded && entry.active) || entry.started >= (schedule.count ?? 100)) {
      if (!seeded) entry.active = false;
      return;
    }
    entry.active = true;
    entry.started++;
    const fault = ++this.faults;
    const { nemesis, node } = entry.spec;
    const fields = {
      fault,
      spec: entry.id,
      nemesis,
      node,
      forMs: schedule.forMs,
      attributes: entry.spec.attributes ?? {},
      ...anchor,
    };
    const ended = recordDisruption(this.events, 'nemesis', { node, kind: nemesis, fault });
    let heal: () => Promise<void>;
    try {
      heal = await entry.type.start(
        { target: this.target, node: this.target.node(node), random: entry.random, fault },
        entry.attributes,
      );
    } catch (error) {
      this.events.record('nemesis', 'nemesis-failed', { ...fields, error: (error as Error).message });
      ended({ failed: true });
      entry.active = false;
      return;
    }
    this.events.record('nemesis', 'nemesis-started', fields);
    const healAndEnd = async () => {
      try {
        await heal();
      } finally {
        ended();
        entry.active = false;
      }
    };
    this.heals.set(fault, healAndEnd);
    if (this.stopped) return this.heal(fault, healAndEnd, 'chaos stopped');
    this.later(schedule.forMs, () => this.heal(fault, healAndEnd, 'its time is up'));
  }

  private async heal(fault: number, heal: () => Promise<void>, why: string): Promise<void> {
    if (!this.heals.delete(fault)) return;
    try {
      await heal();
      this.events.record('nemesis', 'nemesis-healed', { fault, why });
    } catch (error) {
      this.events.record('nemesis', 'nemesis-heal-failed', { fault, why, error: (error as Error).message });
    }
  }
}
