import { defineDetector, findingsFor } from '../../../observe/detector.ts';
import type { IncidentSignal } from '../../../observe/incidents.ts';
import { loadSecondOf } from '../../../observe/load-second.ts';
import { percentile } from '../../../stats.ts';

/** Seconds of steady load the baseline is the median of. */
const BASELINE_SECONDS = 10;
/** Fewer seconds than this of baseline: no judgement yet. */
const MIN_BASELINE_SECONDS = 5;
/** A second is stalled below this share of the baseline's completions... */
const STALL_SHARE = 0.5;
/** ...and this many stalled seconds in a row are a stall. */
const STALL_SECONDS = 3;
/** Seconds after a stall whose completions are its "after" figure. */
const AFTER_SECONDS = 5;
/**
 * A stall that begins this soon after the last one ended is that one's tail, not a stall of its
 * own: keep-alive requests held through a freeze time out after it, and their connections are
 * slow to serve again for a few seconds.
 */
const TAIL_MS = 15_000;

type Second = ReturnType<typeof loadSecondOf>;

interface NodeState {
  /** Completions per second of the last steady seconds: in all, on keep-alive, on new connections. */
  baseline: Array<{ all: number; keepAlive: number; fresh: number }>;
  /** Stalled seconds in a row, not yet a stall (or the stall's, once open). */
  stalled: Second[];
  open:
    | {
        key: string;
        startT: number;
        before: number;
        keepAliveBefore: number;
        freshBefore: number;
        /** The last stall's tail: counted into it, its figures kept. */
        tail: boolean;
      }
    | undefined;
  /** The last stall that ended: its key and its end (history ms). */
  last: { key: string; endT: number } | undefined;
  /** After a stall closed: the seconds counted into its "after", the level before it, and its first second after. */
  after: { key: string; seconds: Second[]; before: number; firstSecondAfter: number } | undefined;
}

type State = Map<string, NodeState>;

/**
 * A stall: the load's completions per second (`load:second`) below half the recent level (the
 * median of the last 10 steady seconds) for 3 s or more, judged per node the load goes to and
 * per kind of connection (keep-alive, new): new connections that stop while keep-alive ones go
 * on (stunnel's accepting thread blocked) halve the total only, and are a stall. It
 * opens when the third stalled second is seen; when the level is back it adds what the report
 * needs: how long, completions per second before, during (its median second; keep-alive and new connections apart:
 * were the open connections still served?), the first second after and the 5 s after, the burst
 * (what those 6 s completed beyond the level before: the held requests), and the timeouts and
 * resets during it. A stall the load ends in ends with it (`endedWithLoad`, no "after"). Load
 * that nobody offers is no stall. A stall within 15 s of the last one's
 * end is its tail (the same incident, counted again, `tailMs` added); a new load starts afresh.
 */
export default defineDetector<State>({
  name: 'throughput-stall',
  summary: 'completions per second under half the recent level for 3 s or more (load:second)',
  kinds: ['throughput-stall'],
  reads: ['load:second', 'load:load-started', 'load:load-stopped'],
  init: () => new Map(),
  step(state, event) {
    if (event.source !== 'load' || typeof event.node !== 'string') return [];
    if (event.type === 'load-stopped' || event.type === 'load-started') {
      // A stall still open is the load's that just ended: its figures end with it. A new load (a
      // soak's next episode) ramps up from nothing and is judged against its own level, not the
      // last one's.
      const nodeState = state.get(event.node);
      const signals = nodeState?.open ? closeStall(event.node, nodeState, event.t, event.at, undefined) : [];
      if (event.type === 'load-started') state.delete(event.node);
      return signals;
    }
    if (event.type !== 'second') return [];
    const node = event.node;
    let nodeState = state.get(node);
    if (!nodeState) {
      nodeState = { baseline: [], stalled: [], open: undefined, after: undefined, last: undefined };
      state.set(node, nodeState);
    }
    return stepNode(node, nodeState, loadSecondOf(event));
  },
});

function stepNode(node: string, state: NodeState, second: Second): IncidentSignal[] {
  const signals: IncidentSignal[] = [];
  if (state.after) {
    state.after.seconds.push(second);
    if (state.after.seconds.length >= AFTER_SECONDS) {
      const { key, seconds, before, firstSecondAfter } = state.after;
      const completed = seconds.map((s) => s.completed);
      signals.push(
        findingsFor('throughput-stall', key, second.at, node, {
          afterPerSecond: round(mean(completed)),
          // What was held and completed once the stall ended, wherever in those seconds it landed:
          // the completions from the first second after on, less what the level before gives.
          burstAfter: Math.round(firstSecondAfter + sum(completed) - before * (completed.length + 1)),
        }),
      );
      state.after = undefined;
    }
  }
  if (second.offered === 0 && !state.open) {
    state.stalled = [];
    return signals;
  }
  const level = levelOf(state.baseline);
  const enough = state.baseline.length >= MIN_BASELINE_SECONDS && level.all > 0;
  const under = (now: number, before: number) => before > 0 && now < STALL_SHARE * before;
  const stalledKinds = [
    ...(under(second.keepAliveCompleted, level.keepAlive) ? ['keep-alive'] : []),
    ...(under(second.freshCompleted, level.fresh) ? ['new connections'] : []),
  ];
  if (enough && (under(second.completed, level.all) || stalledKinds.length > 0)) {
    state.stalled.push(second);
    if (!state.open && state.stalled.length >= STALL_SECONDS) {
      const first = state.stalled[0] as Second;
      if (state.last && first.t - state.last.endT <= TAIL_MS) {
        // The same stall again: one more sighting of it (its count), its figures as they were.
        state.open = { ...openedAt(state.last.key, first, level), tail: true };
        signals.push({
          kind: 'throughput-stall',
          at: first.at,
          node,
          summary: '',
          dedupKey: state.last.key,
          reason: 'the stall again, within its tail',
        });
        return signals;
      }
      const key = `throughput-stall|${node}|${first.t}`;
      state.open = { ...openedAt(key, first, level), tail: false };
      const during = (pick: (s: Second) => number) => round(mean(state.stalled.map(pick)));
      signals.push({
        kind: 'throughput-stall',
        at: first.at,
        node,
        reason: `${stalledKinds.join(' and ') || 'completions'} under half the recent level`,
        summary:
          `${node}: completions fell from ${round(level.all)}/s to ${during((s) => s.completed)}/s for ${STALL_SECONDS} s or more ` +
          `(keep-alive ${round(level.keepAlive)}/s -> ${during((s) => s.keepAliveCompleted)}/s, ` +
          `new connections ${round(level.fresh)}/s -> ${during((s) => s.freshCompleted)}/s)`,
        dedupKey: key,
        findings: { beforePerSecond: round(level.all) },
      });
    }
    return signals;
  }
  if (state.open) return [...signals, ...closeStall(node, state, second.t, second.at, second)];
  state.stalled = [];
  state.baseline.push({
    all: second.completed,
    keepAlive: second.keepAliveCompleted,
    fresh: second.freshCompleted,
  });
  if (state.baseline.length > BASELINE_SECONDS) state.baseline.shift();
  return signals;
}

/**
 * Ends the open stall at `endT`: with the second that shows the level back (`recovered`), or with
 * the load (none: `endedWithLoad`, and no "after"). A tail adds only how long it lasted.
 */
function closeStall(
  node: string,
  state: NodeState,
  endT: number,
  endAt: string,
  recovered: Second | undefined,
): IncidentSignal[] {
  const open = state.open;
  if (!open) return [];
  const during = state.stalled;
  state.open = undefined;
  state.stalled = [];
  state.last = { key: open.key, endT };
  if (open.tail)
    return [
      findingsFor('throughput-stall', open.key, endAt, node, { tailMs: Math.round(endT - open.startT) }),
    ];
  if (recovered)
    state.after = { key: open.key, seconds: [], before: open.before, firstSecondAfter: recovered.completed };
  return [
    findingsFor('throughput-stall', open.key, endAt, node, {
      durationMs: Math.round(endT - open.startT),
      beforePerSecond: round(open.before),
      keepAliveBeforePerSecond: round(open.keepAliveBefore),
      newConnectionsBeforePerSecond: round(open.freshBefore),
      // The median second: the stall's first and last seconds are partly before and after it.
      duringPerSecond: median(during.map((s) => s.completed)),
      keepAliveDuringPerSecond: median(during.map((s) => s.keepAliveCompleted)),
      newConnectionsDuringPerSecond: median(during.map((s) => s.freshCompleted)),
      ...(recovered ? { firstSecondAfter: recovered.completed } : { endedWithLoad: true }),
      timeoutsDuring: sum(during.map((s) => s.timeouts)),
      resetsDuring: sum(during.map((s) => s.resets)),
    }),
  ];
}

function openedAt(key: string, first: Second, level: ReturnType<typeof levelOf>) {
  return {
    key,
    startT: first.t,
    before: level.all,
    keepAliveBefore: level.keepAlive,
    freshBefore: level.fresh,
  };
}

function levelOf(baseline: NodeState['baseline']): { all: number; keepAlive: number; fresh: number } {
  const median = (pick: (s: NodeState['baseline'][number]) => number) =>
    baseline.length > 0 ? percentile(baseline.map(pick), 50) : 0;
  return { all: median((s) => s.all), keepAlive: median((s) => s.keepAlive), fresh: median((s) => s.fresh) };
}

function median(values: readonly number[]): number {
  return values.length === 0 ? 0 : percentile(values, 50);
}

function mean(values: readonly number[]): number {
  return values.length === 0 ? 0 : sum(values) / values.length;
}

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
