import { join } from 'node:path';
import type { Progress } from '../progress.ts';
import { writeReport } from '../report/report-writer.ts';
import type { Run } from '../run/run.ts';

/**
 * Rewrites the report every `everyMs` while the run goes on (one at a time: a report of a long
 * history takes a while), so a soak killed at hour 7 still has a report of hour 6.
 */
export class ReportRefresher {
  private readonly timer: NodeJS.Timeout;
  private writing: Promise<void> | undefined;

  constructor(run: Run, everyMs: number, progress: Progress) {
    this.timer = setInterval(() => {
      this.writing ??= run.history
        .flushed()
        .then(() => writeReport(run.dir))
        .then(
          () => progress.detail(`report refreshed: ${join(run.dir, 'report.md')}`),
          (error: Error) => progress.detail(`report refresh failed: ${error.message}`),
        )
        .finally(() => {
          this.writing = undefined;
        });
    }, everyMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.writing;
  }
}
