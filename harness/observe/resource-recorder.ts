import type { EventSink } from '../run/history.ts';
import type { TargetNode } from '../seam/target.ts';
import { Repeater } from './repeater.ts';

/** RSS, threads and open files of every process of that name in the node. */
function perProcess(name: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new Error(`not a process name: ${name}`);
  return `for p in $(pgrep -x ${name}); do echo "$p $(ps -o rss=,nlwp= -p $p) $(ls /proc/$p/fd 2>/dev/null | wc -l)"; done`;
}

/**
 * Samples each watched node's daemon processes (RSS, threads, open files) every `everyMs`, as
 * `resources` events: the report's trends (a leak shows as a slope). The harness's own footprint
 * is the runner's (HarnessRecorder), for every run.
 */
export class ResourceRecorder {
  private readonly events: EventSink;
  private readonly repeater = new Repeater();

  constructor(events: EventSink) {
    this.events = events;
  }

  watch(nodes: readonly TargetNode[], processName: string, everyMs: number): this {
    const command = perProcess(processName);
    this.repeater.every(everyMs, async () => {
      for (const node of nodes) await this.sample(node, command);
    });
    return this;
  }

  stop(): void {
    this.repeater.stop();
  }

  private async sample(node: TargetNode, command: string): Promise<void> {
    const result = await node.exec(['sh', '-c', command]).catch(() => undefined);
    // Stopped while it asked: the history may be closing.
    if (!result || this.repeater.isStopped) return;
    const processes = result.output
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [pid, rssKb, threads, fds] = line.trim().split(/\s+/).map(Number);
        return { pid, rssKb, threads, fds };
      });
    this.events.record('observe', 'resources', { node: node.name, processes });
  }
}
