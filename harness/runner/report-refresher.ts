import type { ChildProcess } from 'node:child_process';
import type { Progress } from '../progress.ts';
import { RunLayout } from '../run/layout.ts';
import type { Run } from '../run/run.ts';
import { spawnHunt } from './hunt-child.ts';

/**
 * Rewrites the report every `everyMs` while the run goes on, so a soak killed at hour 7 still
 * has a report of hour 6. Each refresh is a `hunt report` child process (one at a time, killed
 * if it takes longer than the interval): reading a long history and rendering the timeline
 * takes memory and time that the hunting process should not carry, and the report must come
 * from the folder alone anyway.
 */
export class ReportRefresher {
  private readonly timer: NodeJS.Timeout;
  private writing: Promise<void> | undefined;
  private child: ChildProcess | undefined;

  constructor(run: Run, everyMs: number, progress: Progress) {
    this.timer = setInterval(() => {
      this.writing ??= run.history
        .flushed()
        .then(() => this.refresh(run.dir, everyMs))
        .then(
          () => progress.detail(`report refreshed: ${run.path(RunLayout.report)}`),
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
    this.child?.kill('SIGTERM');
    await this.writing;
  }

  private refresh(dir: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawnHunt(['report', dir, '--json']);
      child.stdout?.resume(); // the summary is not needed: the files are the result
      this.child = child;
      let stderr = '';
      child.stderr?.on('data', (chunk: Buffer) => {
        if (stderr.length < 4096) stderr += chunk.toString();
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        this.child = undefined;
        // 0 passed, 1 incidents or (here, always) incomplete, 130 interrupted: all rendered.
        if (code === 0 || code === 1 || code === 130) resolve();
        else
          reject(new Error(`hunt report exited ${code}: ${stderr.trim().split('\n').slice(-2).join(' ')}`));
      });
    });
  }
}
