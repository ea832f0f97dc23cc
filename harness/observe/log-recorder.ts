import type { EventSink } from '../run/history.ts';
import type { LogLine } from '../seam/log-tail.ts';
import type { TargetNode } from '../seam/target.ts';
import { builtInPatterns, type LogPattern } from './log-patterns.ts';

const BEFORE = 5;
const AFTER = 5;
/** The neighbours of a match are recorded for this many matches per node and pattern; then the line alone. */
const CONTEXT_PER_PATTERN = 20;
/** Matches per node and pattern recorded at all; past it they are counted (log-matches-dropped). */
const MATCHES_PER_PATTERN = 100_000;
/** The lines after a match are recorded once this many have come, or after this long. */
const CONTEXT_WAIT_MS = 1500;

/**
 * Records the lines of each node's log (Icinga's icinga2.log) that match a pattern (built-in or the user's),
 * as `log-match` events with the lines before, and a `log-context` event with the lines after.
 * It records; the log-lines detector decides what is an incident.
 */
export class LogRecorder {
  private readonly events: EventSink;
  private readonly patterns: LogPattern[];
  private readonly unsubscribes: Array<() => void> = [];
  private readonly counts = new Map<string, number>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(events: EventSink, custom: Record<string, RegExp> = {}) {
    this.events = events;
    const mine = Object.entries(custom).map(([name, pattern]) => ({
      name,
      kind: `pattern:${name}`,
      pattern,
    }));
    this.patterns = [...mine, ...builtInPatterns];
  }

  /** Records from the lines the nodes' logs hold already (a stack logs before it is watched), then live. */
  watch(nodes: readonly TargetNode[]): this {
    for (const node of nodes) {
      for (const line of node.log.since(0)) this.onLine(node, line);
      this.unsubscribes.push(node.log.subscribe((line) => this.onLine(node, line)));
    }
    return this;
  }

  stop(): void {
    for (const unsubscribe of this.unsubscribes) unsubscribe();
    for (const timer of this.timers) clearTimeout(timer);
    for (const [key, count] of this.counts) {
      if (count > MATCHES_PER_PATTERN)
        this.events.record('observe', 'log-matches-dropped', { key, dropped: count - MATCHES_PER_PATTERN });
    }
  }

  private onLine(node: TargetNode, line: LogLine): void {
    const pattern = this.patterns.find((candidate) => candidate.pattern.test(line.text));
    if (!pattern) return;
    const key = `${node.name}|${pattern.name}`;
    const count = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, count);
    if (count > MATCHES_PER_PATTERN) return;
    const withContext = count <= CONTEXT_PER_PATTERN;
    const before = withContext
      ? node.log
          .since(Math.max(0, line.seq - BEFORE - 1))
          .filter((other) => other.seq < line.seq)
          .map((other) => other.text)
      : undefined;
    this.events.record('observe', 'log-match', {
      node: node.name,
      role: node.role,
      seq: line.seq,
      pattern: pattern.name,
      kind: pattern.kind,
      line: line.text,
      before,
    });
    if (withContext) this.recordAfter(node, line);
  }

  private recordAfter(node: TargetNode, line: LogLine): void {
    const after = () =>
      node.log
        .since(line.seq)
        .slice(0, AFTER)
        .map((other) => other.text);
    let unsubscribe = () => {};
    let recorded = false;
    const done = () => {
      if (recorded) return;
      recorded = true;
      clearTimeout(timer);
      this.timers.delete(timer);
      unsubscribe();
      this.events.record('observe', 'log-context', { node: node.name, seq: line.seq, after: after() });
    };
    const timer = setTimeout(done, CONTEXT_WAIT_MS);
    timer.unref();
    this.timers.add(timer);
    unsubscribe = node.log.subscribe(() => {
      if (node.log.mark() - line.seq >= AFTER) done();
    });
    this.unsubscribes.push(unsubscribe);
  }
}
