/**
 * Runs async work every `ms` (never two at once: the next run is timed from the end of the last)
 * and delayed work once, until stopped. Timers are unref'd: they never keep the process alive.
 */
export class Repeater {
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;

  every(ms: number, work: () => Promise<void>): void {
    const tick = async () => {
      if (this.stopped) return;
      await work().catch(() => undefined);
      this.later(ms, tick);
    };
    this.later(ms, tick);
  }

  later(ms: number, work: () => unknown): void {
    if (this.stopped) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void work();
    }, ms);
    timer.unref();
    this.timers.add(timer);
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }
}
