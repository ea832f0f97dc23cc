import type { HuntError } from '../errors.ts';
import { DiskGuard } from '../run/disk-guard.ts';
import type { Run } from '../run/run.ts';
import type { StartedTarget } from '../seam/target.ts';

/**
 * The order a run's parts come down in, whatever ended it: first what acts on the run by the
 * clock (limits, tickers, the report refresher); then the faults, healed while everything else
 * still watches; the observers; the flight recorders, which keep the windows still open with what
 * their rings hold, before the targets go; the targets; last the ground the others stood on
 * (detection, the status tracker, the disk budget). Within a layer, the part started last goes first.
 */
const LAYERS = ['clock', 'faults', 'observers', 'recorders', 'targets', 'ground'] as const;
export type Layer = (typeof LAYERS)[number];

/**
 * One run's live parts. Each part registers its teardown where it starts (`own`), in its layer, so
 * no list elsewhere has to remember it; disposing the session takes every part down in the layers'
 * order, also after an error or an interrupt. A failing teardown does not keep the others up.
 */
export class RunSession implements AsyncDisposable {
  /** Aborted to stop the run at its next safe point: an interrupt, --duration, a full disk. */
  readonly stop = new AbortController();
  /** Aborted to cut set-up short (image build, node starts): an interrupt or a full disk, not --duration. */
  readonly stopSetUp = new AbortController();
  /** Aborted by SIGINT/SIGTERM, also after --duration ended the run: teardown hurries then. */
  readonly interrupt = new AbortController();
  /** The targets started so far, in order (the status line counts their clients). */
  readonly targets: StartedTarget[] = [];
  private disk: HuntError | undefined;
  private readonly layers = Object.fromEntries(
    LAYERS.map((layer) => [layer, new AsyncDisposableStack()]),
  ) as Record<Layer, AsyncDisposableStack>;

  /** Registers a part's teardown in its layer. */
  own(layer: Layer, teardown: () => unknown): void {
    this.layers[layer].defer(async () => {
      try {
        await teardown();
      } catch {
        // One part that fails to stop must not leave the parts after it running.
      }
    });
  }

  /** Stopped by SIGINT/SIGTERM (the caller's signal), whether or not something else stopped it first. */
  get interrupted(): boolean {
    return this.interrupt.signal.aborted;
  }

  /** Why the disk guard stopped the run, if it did. */
  get diskError(): HuntError | undefined {
    return this.disk;
  }

  /**
   * The run's limits: the caller's signal (an interrupt stops the run and its set-up), --duration
   * (stops the run, not its set-up: a set-up that outlasts it still does its one step), and a
   * nearly full results disk (stops both, while the report still fits).
   */
  watchLimits(run: Run, limits: { signal?: AbortSignal; durationMs?: number }): void {
    const onInterrupt = () => {
      this.interrupt.abort('interrupted');
      this.abort('interrupted');
    };
    limits.signal?.addEventListener('abort', onInterrupt, { once: true });
    // Heard until the very end: Ctrl-C during teardown (a duration's end reading its captures) hurries it.
    this.own('ground', () => limits.signal?.removeEventListener('abort', onInterrupt));
    if (limits.signal?.aborted) onInterrupt();
    if (limits.durationMs !== undefined) {
      const timer = setTimeout(() => this.stop.abort('duration'), limits.durationMs);
      timer.unref();
      this.own('clock', () => clearTimeout(timer));
    }
    const guard = DiskGuard.watch(run.dir, (error) => {
      this.disk ??= error;
      run.history.record('run', 'disk-full', { error: error.message });
      this.abort('disk-full');
    });
    run.onWriteError((error) => guard.failed(error));
    this.own('clock', () => guard.stop());
  }

  /**
   * Plays the scenario and returns what it threw, if anything. Set-up cut short by an interrupt or
   * a full disk ends as that (130, HH_DISK_FULL), not as a harness error: the abort's own
   * rejection is no failure.
   */
  async play(scenario: () => Promise<void>): Promise<unknown> {
    try {
      await scenario();
      return undefined;
    } catch (error) {
      const setUp = this.stopSetUp.signal;
      const cutShort =
        setUp.aborted && (error === setUp.reason || (error instanceof Error && error.name === 'AbortError'));
      return cutShort ? undefined : error;
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    for (const layer of LAYERS) await this.layers[layer].disposeAsync();
  }

  private abort(reason: string): void {
    this.stop.abort(reason);
    this.stopSetUp.abort(reason);
  }
}
