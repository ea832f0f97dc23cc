import type { LiveDetection } from '../observe/detection.ts';
import { ownDisruptionKind } from '../run/disruption.ts';
import type { HistoryEvent } from '../run/history.ts';
import type { Run } from '../run/run.ts';
import type { StartedTarget } from '../seam/target.ts';

/** The most reloads a run may ask for; a soak asks for this many and lets its duration decide. */
export const MAX_STEPS = 10_000_000;

export interface RunStatus {
  reloadsDone: number;
  /** Undefined when the duration decides (a soak). */
  reloadsTotal: number | undefined;
  ratePerHour: number;
  endpointsConnected: number;
  endpointsTotal: number;
  /** What the clients are ('endpoints', 'keep-alive'). */
  clientsLabel: string;
  /** Whether the system reloads: without, the status line counts no reloads. */
  reloading: boolean;
  /** Disruptions the system made itself so far, by kind (a race hunt's context swaps). */
  ownDisruptions: Record<string, number>;
  incidents: number;
  elapsedMs: number;
  etaMs: number | undefined;
}

/** Where a run stands, from its history's reload events and its targets' clients. */
export class StatusTracker {
  private readonly started = performance.now();
  private readonly total: number;
  private readonly detection: LiveDetection;
  private readonly targets: readonly StartedTarget[];
  private done = 0;
  private readonly own: Record<string, number> = {};
  private firstReloadAt: number | undefined;
  private readonly unsubscribe: () => void;

  private readonly durationMs: number | undefined;
  private readonly reloading: boolean;

  constructor(
    run: Run,
    total: number,
    detection: LiveDetection,
    targets: readonly StartedTarget[],
    durationMs?: number,
    reloading = true,
  ) {
    this.total = total;
    this.reloading = reloading;
    this.durationMs = durationMs;
    this.detection = detection;
    this.targets = targets;
    this.unsubscribe = run.history.subscribe((event: HistoryEvent) => {
      const own = ownDisruptionKind(event);
      if (own) this.own[own] = (this.own[own] ?? 0) + 1;
      if (event.source !== 'reload') return;
      if (event.type === 'reload-started') this.firstReloadAt ??= performance.now();
      if (event.type === 'reload-finished' || event.type === 'reload-failed') this.done++;
    });
  }

  now(): RunStatus {
    const elapsedMs = performance.now() - this.started;
    const stormMs = this.firstReloadAt === undefined ? 0 : performance.now() - this.firstReloadAt;
    const ratePerHour = stormMs > 0 ? (this.done / stormMs) * 3_600_000 : 0;
    let connected = 0;
    let endpoints = 0;
    let label = 'endpoints';
    for (const target of this.targets) {
      const clients = target.clients();
      connected += clients.connected;
      endpoints += clients.total;
      label = clients.label ?? label;
    }
    return {
      reloadsDone: this.done,
      reloadsTotal: this.total >= MAX_STEPS ? undefined : this.total,
      ratePerHour,
      endpointsConnected: connected,
      endpointsTotal: endpoints,
      clientsLabel: label,
      reloading: this.reloading,
      ownDisruptions: { ...this.own },
      incidents: this.detection.incidents.list().length,
      elapsedMs,
      etaMs: eta(
        // A driver that reloads on its own terms (renewals) may pass the limit: no estimate then.
        this.reloading && this.done > 0 && this.done <= this.total
          ? ((this.total - this.done) / this.done) * stormMs
          : undefined,
        this.durationMs === undefined ? undefined : Math.max(0, this.durationMs - elapsedMs),
      ),
    };
  }

  stop(): void {
    this.unsubscribe();
  }
}

/** The sooner of two estimates (either may be unknown). */
function eta(byReloads: number | undefined, byDuration: number | undefined): number | undefined {
  if (byReloads === undefined) return byDuration;
  if (byDuration === undefined) return byReloads;
  return Math.min(byReloads, byDuration);
}
