import { defineDetector, findingsFor } from '../../../observe/detector.ts';
import type { IncidentSignal } from '../../../observe/incidents.ts';

/** Seconds of log rate the "it was logging" judgement looks back on. */
const RECENT_SECONDS = 10;
/** Seconds with lines among the recent ones, at least, for the node to count as logging. */
const MIN_LOGGING_SECONDS = 5;
/** Seconds without a line, while load is offered, that are a silence. */
const SILENT_SECONDS = 3;
/** Seconds after a silence whose late lines (held by the sink) are counted into it. */
const AFTER_SECONDS = 5;

interface NodeState {
  /** Lines per second, the last RECENT_SECONDS (outside silences). */
  recent: number[];
  /** Seconds in a row with no line while load was offered. */
  quiet: Array<{ t: number; at: string }>;
  open: { key: string; startT: number } | undefined;
  after: { key: string; seconds: number; late: number } | undefined;
}

interface State {
  nodes: Map<string, NodeState>;
  /** Requests offered to each node in its latest load second, and when (history time). */
  offered: Map<string, { offered: number; t: number }>;
}

/** A load second older than this says nothing about load now (the load stopped). */
const OFFERED_FRESH_MS = 2_500;

/**
 * The field's symptom: a node that was logging writes nothing for 3 s or more while load is
 * offered to it (`log:rate` against `load:second`). "Was logging": lines in at least 5 of the
 * last 10 seconds, so a quiet log level is no silence. When lines come again it adds how long,
 * and how many of the lines that then arrived were written before (held by a stalled sink)
 * against none: a node that wrote nothing at all, as stunnel blocked on its log lock.
 */
export default defineDetector<State>({
  name: 'log-silence',
  summary: 'a node that was logging writes no line for 3 s or more while load is offered (log:rate)',
  kinds: ['log-silence'],
  reads: ['log:rate', 'load:second'],
  init: () => ({ nodes: new Map(), offered: new Map() }),
  step(state, event) {
    if (typeof event.node !== 'string') return [];
    if (event.source === 'load' && event.type === 'second') {
      state.offered.set(event.node, {
        offered: typeof event.offered === 'number' ? event.offered : 0,
        t: event.t,
      });
      return [];
    }
    if (event.source !== 'log' || event.type !== 'rate') return [];
    const lines = typeof event.lines === 'number' ? event.lines : 0;
    const late = typeof event.late === 'number' ? event.late : 0;
    let node = state.nodes.get(event.node);
    if (!node) {
      node = { recent: [], quiet: [], open: undefined, after: undefined };
      state.nodes.set(event.node, node);
    }
    const load = state.offered.get(event.node);
    const offered = load && event.t - load.t <= OFFERED_FRESH_MS ? load.offered : 0;
    return stepNode(event.node, node, { t: event.t, at: event.at, lines, late }, offered);
  },
});

function stepNode(
  name: string,
  node: NodeState,
  second: { t: number; at: string; lines: number; late: number },
  offered: number,
): IncidentSignal[] {
  const signals: IncidentSignal[] = [];
  if (node.after) {
    node.after.seconds++;
    node.after.late += second.late;
    if (node.after.seconds >= AFTER_SECONDS) {
      signals.push(
        findingsFor('log-silence', node.after.key, second.at, name, { lateLinesAfter: node.after.late }),
      );
      node.after = undefined;
    }
  }
  const logging = node.recent.filter((lines) => lines > 0).length >= MIN_LOGGING_SECONDS;
  if (second.lines === 0 && offered > 0 && (logging || node.open)) {
    node.quiet.push({ t: second.t, at: second.at });
    if (!node.open && node.quiet.length >= SILENT_SECONDS) {
      const first = node.quiet[0] as { t: number; at: string };
      // The second with no line began a second before its event.
      const startT = first.t - 1_000;
      const key = `log-silence|${name}|${first.t}`;
      node.open = { key, startT };
      signals.push({
        kind: 'log-silence',
        at: first.at,
        node: name,
        reason: 'no log line while load was offered',
        summary: `${name} wrote no log line for ${SILENT_SECONDS} s or more while load was offered to it`,
        dedupKey: key,
      });
    }
    return signals;
  }
  if (node.open && second.lines > 0) {
    const { key, startT } = node.open;
    signals.push(
      findingsFor('log-silence', key, second.at, name, { durationMs: Math.round(second.t - 1_000 - startT) }),
    );
    node.open = undefined;
    node.after = { key, seconds: 0, late: second.late };
  }
  node.quiet = [];
  if (!node.open) {
    node.recent.push(second.lines);
    if (node.recent.length > RECENT_SECONDS) node.recent.shift();
  }
  return signals;
}
