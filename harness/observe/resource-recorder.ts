import { getHeapSpaceStatistics } from 'node:v8';
import type { EventSink } from '../run/history.ts';
import type { StartedIcingaNode } from '../stack/icinga-node.ts';
import { Repeater } from './repeater.ts';

const PER_PROCESS =
  'for p in $(pgrep -x icinga2); do echo "$p $(ps -o rss=,nlwp= -p $p) $(ls /proc/$p/fd 2>/dev/null | wc -l)"; done';

/**
 * Samples each master's icinga2 processes (RSS, threads, open files) and the harness's own RSS
 * every `everyMs`, as `resources` events: the report's trends (a leak shows as a slope).
 */
export class ResourceRecorder {
  private readonly events: EventSink;
  private readonly repeater = new Repeater();

  constructor(events: EventSink) {
    this.events = events;
  }

  watch(masters: readonly StartedIcingaNode[], everyMs: number): this {
    this.repeater.every(everyMs, async () => {
      for (const master of masters) await this.sample(master);
      // Heap and external (Buffers, TLS) beside RSS: they tell a leak from V8 sizing its heap.
      const memory = process.memoryUsage();
      this.events.record('observe', 'harness-resources', {
        rssKb: Math.round(memory.rss / 1024),
        heapTotalKb: Math.round(memory.heapTotal / 1024),
        heapUsedKb: Math.round(memory.heapUsed / 1024),
        externalKb: Math.round(memory.external / 1024),
        // Committed size of V8's spaces: which one grows when RSS does.
        spacesKb: Object.fromEntries(
          getHeapSpaceStatistics()
            .filter((space) => space.space_size > 0)
            .map((space) => [space.space_name.replace(/_space$/, ''), Math.round(space.space_size / 1024)]),
        ),
      });
    });
    return this;
  }

  stop(): void {
    this.repeater.stop();
  }

  private async sample(master: StartedIcingaNode): Promise<void> {
    const result = await master.container.exec(['sh', '-c', PER_PROCESS]).catch(() => undefined);
    if (!result) return;
    const processes = result.output
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [pid, rssKb, threads, fds] = line.trim().split(/\s+/).map(Number);
        return { pid, rssKb, threads, fds };
      });
    this.events.record('observe', 'resources', { master: master.name, processes });
  }
}
