import type { EventSink } from '../../run/history.ts';
import type { TargetNode, TargetObserver } from '../../seam/target.ts';

/** How often the listener's queue is read: an engine exec each time. */
const EVERY_MS = 1_000;

/**
 * The accept queue of a node's listening socket, once a second, from `ss` in the node's own
 * network namespace: Recv-Q of a listener is the connections the kernel completed and the
 * server has not accepted yet; Send-Q its backlog. Recorded as `socket:accept-queue` { node,
 * port, queued, backlog }: a server whose accepting thread is blocked shows it growing.
 */
export class AcceptQueueRecorder implements TargetObserver {
  private readonly timer: NodeJS.Timeout;
  private busy = false;
  private stopped = false;

  constructor(node: TargetNode, port: number, events: EventSink) {
    this.timer = setInterval(() => {
      if (this.busy || this.stopped) return;
      this.busy = true;
      node
        .exec(['ss', '-Hltn', `sport = :${port}`])
        .then(({ exitCode, output }) => {
          const listener = exitCode === 0 ? parseListener(output) : undefined;
          if (listener && !this.stopped)
            events.record('socket', 'accept-queue', { node: node.name, port, ...listener });
        })
        .catch(() => undefined)
        .finally(() => {
          this.busy = false;
        });
    }, EVERY_MS);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
  }
}

/** `ss -Hltn` of one listener: "LISTEN 0 4096 0.0.0.0:443 0.0.0.0:*" -> queued 0, backlog 4096. */
export function parseListener(output: string): { queued: number; backlog: number } | undefined {
  const match = /^LISTEN\s+(\d+)\s+(\d+)\s/m.exec(output);
  return match ? { queued: Number(match[1]), backlog: Number(match[2]) } : undefined;
}
