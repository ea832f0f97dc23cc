import { ErrorCodes, HuntError } from '../errors.ts';
import type { Random } from '../random.ts';
import type { StartedTarget, TargetNode } from '../seam/target.ts';

/**
 * Nemeses: faults the harness injects on a schedule, one file each in nemeses/, listed in the
 * registry like the proxy's toxics. A nemesis starts its fault on one node and returns what ends
 * it; the chaos runner (chaos.ts) decides when, from the schedule, and records every fault as
 * `nemesis-started` / `nemesis-healed` events and as a disruption window of the node.
 */
export interface NemesisContext {
  target: StartedTarget;
  node: TargetNode;
  /** Seeded per nemesis: what it draws (a toxic's toxicity, a target connection) repeats on --replay. */
  random: Random;
  /** This fault's number in the run (1, 2, ...): names what it adds, like a toxic. */
  fault: number;
}

export interface NemesisType<Attributes extends object = Record<string, unknown>> {
  /** Its name in specs and events: "pause", "cpu-starve", "toxic". */
  name: string;
  summary: string;
  /** Validates and fills defaults; throws HH_USAGE naming the bad attribute. */
  parse(attributes: Record<string, unknown>): Attributes;
  /** Starts the fault on the node; resolves to what ends it. */
  start(context: NemesisContext, attributes: Attributes): Promise<() => Promise<void>>;
  /** What makes it impossible on this node (a capability it lacks), checked before anything acts. */
  check?(target: StartedTarget, node: TargetNode, attributes: Attributes): string | undefined;
}

/** Declares a nemesis with its attributes' type checked (the registry sees NemesisType<object>). */
export function defineNemesis<Attributes extends object>(
  nemesis: NemesisType<Attributes>,
): NemesisType<object> {
  return nemesis as unknown as NemesisType<object>;
}

/**
 * When a nemesis acts, and for how long:
 * - `after`: `offsetMs` after an anchor event on the node, for `forMs`; `every` k-th anchor
 *   (default each), from the `from`-th (default the first). The anchors are the system's
 *   (`SystemUnderTest.anchors`; Icinga's `reload-signalled`: the signal went; `listener-up`: the
 *   new worker listens), each an event type that names its node in `node`;
 * - `seeded`: `count` times at moments drawn from the seed within `withinMs` of the start;
 * - `atMs`: that long after the chaos starts (a stall in the middle of a steady load); with
 *   `everyMs`, `count` times (default once), `everyMs` apart.
 * `count` bounds how often it acts in all (default 100).
 */
export type NemesisSchedule =
  | {
      /** An anchor event's type (the system's anchors list them). */
      after: string;
      offsetMs: number;
      forMs: number;
      every?: number;
      /** The first anchor it acts on (default 1: the first); then every `every`-th. */
      from?: number;
      count?: number;
    }
  | { seeded: true; withinMs: number; forMs: number; count: number }
  | { atMs: number; forMs: number; everyMs?: number; count?: number };

export interface NemesisSpec {
  /** A registered nemesis name. */
  nemesis: string;
  /** The node it acts on. */
  node: string;
  attributes?: Record<string, unknown>;
  schedule: NemesisSchedule;
}

/** The longest a single fault may last: bounded like everything else. */
export const MAX_FAULT_MS = 10 * 60_000;
export const MAX_FAULTS = 10_000;

/**
 * Checks a schedule's numbers, and its anchor against the system's `anchors` where given (exit 2
 * with what was wrong).
 */
export function checkSchedule(spec: NemesisSpec, anchors?: Readonly<Record<string, string>>): void {
  const s = spec.schedule;
  const bad = (what: string) =>
    new HuntError(ErrorCodes.USAGE, `Nemesis ${spec.nemesis} on ${spec.node}: ${what}.`);
  const within = (value: number | undefined, min: number, max: number) =>
    value === undefined || (Number.isFinite(value) && value >= min && value <= max);
  if (!within(s.forMs, 0, MAX_FAULT_MS)) throw bad(`forMs is 0 to ${MAX_FAULT_MS}, not ${s.forMs}`);
  if (!within(s.count, 1, MAX_FAULTS)) throw bad(`count is 1 to ${MAX_FAULTS}, not ${s.count}`);
  if ('after' in s) {
    if (anchors !== undefined && !Object.hasOwn(anchors, s.after))
      throw bad(
        Object.keys(anchors).length === 0
          ? `its system writes no anchor events, so "after: ${s.after}" never comes: time it with atMs or seeded`
          : `after is one of its system's anchors (${Object.keys(anchors).join(', ')}), not "${s.after}"`,
      );
    if (!within(s.offsetMs, 0, MAX_FAULT_MS))
      throw bad(`offsetMs is 0 to ${MAX_FAULT_MS}, not ${s.offsetMs}`);
    if (!within(s.every, 1, MAX_FAULTS) || (s.every !== undefined && !Number.isInteger(s.every)))
      throw bad(`every is a whole number from 1, not ${s.every}`);
    if (!within(s.from, 1, MAX_FAULTS) || (s.from !== undefined && !Number.isInteger(s.from)))
      throw bad(`from is a whole number from 1, not ${s.from}`);
  } else if ('atMs' in s) {
    if (!within(s.atMs, 0, 24 * 3_600_000)) throw bad(`atMs is 0 to 24 h, not ${s.atMs}`);
    if (!within(s.everyMs, 1, 24 * 3_600_000)) throw bad(`everyMs is 1 ms to 24 h, not ${s.everyMs}`);
    if (s.count !== undefined && !Number.isInteger(s.count))
      throw bad(`count is a whole number, not ${s.count}`);
    const last = s.atMs + ((s.count ?? 1) - 1) * (s.everyMs ?? 0);
    // Timers past 2^31 ms fire at once in Node: every moment stays within a day.
    if (last > 24 * 3_600_000)
      throw bad(`the last fault would come ${last} ms in: keep atMs + (count - 1) * everyMs within 24 h`);
    if (s.everyMs !== undefined && (s.count ?? 1) > 1 && s.forMs >= s.everyMs)
      throw bad(`forMs (${s.forMs}) must be shorter than everyMs (${s.everyMs}): one fault at a time`);
  } else if (!within(s.withinMs, 1, 24 * 3_600_000)) throw bad(`withinMs is 1 ms to 24 h, not ${s.withinMs}`);
}
