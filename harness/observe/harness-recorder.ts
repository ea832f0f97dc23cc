import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { getHeapSpaceStatistics } from 'node:v8';
import type { EventSink } from '../run/history.ts';
import { RunLayout } from '../run/layout.ts';
import { folderBytes } from '../run/run-folder.ts';
import { Repeater } from './repeater.ts';

/** The run folder is walked on every 30th sample only (5 minutes): a soak's folder holds many files. */
const FOLDER_EVERY = 30;

/**
 * The harness's own footprint, every `everyMs`, as `harness-resources` events, for every run
 * whatever its system: RSS with the heap beside it (a leak told from V8 sizing its heap), the
 * history's size, and now and then the run folder's. A long run's report reads them per hour,
 * with the slope after warm-up.
 */
export class HarnessRecorder {
  private readonly repeater = new Repeater();

  private constructor(events: EventSink, dir: string, everyMs: number) {
    let samples = 0;
    this.repeater.every(everyMs, async () => {
      const memory = process.memoryUsage();
      const history = await stat(join(dir, RunLayout.history)).catch(() => undefined);
      const folder = samples++ % FOLDER_EVERY === 0 ? await folderBytes(dir) : undefined;
      // Stopped while the files were read: the history may be closing; a sample now is after the run.
      if (this.repeater.isStopped) return;
      events.record('observe', 'harness-resources', {
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
        ...(history ? { historyBytes: history.size } : {}),
        ...(folder !== undefined ? { folderBytes: folder } : {}),
      });
    });
  }

  static start(events: EventSink, dir: string, everyMs = 10_000): HarnessRecorder {
    return new HarnessRecorder(events, dir, everyMs);
  }

  stop(): void {
    this.repeater.stop();
  }
}
