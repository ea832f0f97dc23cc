import type { EventSink } from '../../run/history.ts';
import type { LogLine } from '../../seam/log-tail.ts';
import type { TargetNode, TargetObserver } from '../../seam/target.ts';

/** A line that reached the log this much after its own timestamp was held up on the way. */
const LATE_MS = 2_000;

/**
 * Log lines per second of each watched node, as `log:rate` events ({ node, lines, late }):
 * what a silence detector reads. `late` counts lines that arrived over 2 s after the time they
 * carry (a sink that stalled and caught up), so "stunnel wrote nothing" is told from "the sink
 * held it". One event per node per second: an hour is 3,600 of them.
 */
export class LogRateRecorder implements TargetObserver {
  private readonly counts = new Map<string, { lines: number; late: number }>();
  private readonly unsubscribes: Array<() => void> = [];
  private readonly timer: NodeJS.Timeout;
  private readonly events: EventSink;

  constructor(nodes: readonly TargetNode[], events: EventSink) {
    this.events = events;
    for (const node of nodes) {
      this.counts.set(node.name, { lines: 0, late: 0 });
      this.unsubscribes.push(node.log.subscribe((line) => this.see(node.name, line)));
    }
    this.timer = setInterval(() => this.flush(), 1_000);
  }

  private see(node: string, line: LogLine): void {
    const count = this.counts.get(node);
    if (!count) return;
    count.lines++;
    if (line.loggedAt !== undefined && line.receivedAt - line.loggedAt > LATE_MS) count.late++;
  }

  private flush(): void {
    for (const [node, count] of this.counts) {
      this.events.record('log', 'rate', { node, lines: count.lines, late: count.late });
      count.lines = 0;
      count.late = 0;
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    for (const unsubscribe of this.unsubscribes) unsubscribe();
    this.flush();
  }
}
