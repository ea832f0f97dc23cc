import type { LiveDetection } from '../observe/detection.ts';
import { ownDisruptionKind } from '../run/disruption.ts';
import type { HistoryEvent } from '../run/history.ts';
import type { Run } from '../run/run.ts';
import type { StartedTarget } from '../seam/target.ts';

/** The most steps a run may ask for; a soak asks for this many and lets its duration decide. */
export const MAX_STEPS = 10_000_000;

export interface RunStatus {
  /** Steps ended so far (either way), in `stepUnit`; 0 where the system counts none. */
  stepsDone: number;
  /** Undefined when the duration decides (a soak). */
  stepsTotal: number | undefined;
  /** What a step is, plural: the system's word ('reloads'); undefined where it counts none. */
  stepUnit: string | undefined;
  ratePerHour: number;
  clientsConnected: number;
  clientsTotal: number;
  /** What the clients are, plural: the target's word. */
  clientsLabel: string;
  /** Disruptions the system made itself so far, by kind (a race hunt's context swaps). */
  ownDisruptions: Record<string, number>;
  incidents: number;
  elapsedMs: number;
  etaMs: number | undefined;
}

/** How a run's steps are told, as its system says (`SystemUnderTest.stepOf`, `stepUnit`). */
export interface StepCount {
  unit: string;
  of(event: HistoryEvent): 'begun' | 'done' | undefined;
}

/** Where a run stands, from its history's step events and its targets' clients. */
export class StatusTracker {
  private readonly started = performance.now();
  private readonly total: number;
  private readonly detection: LiveDetection;
  private readonly targets: readonly StartedTarget[];
  private readonly steps: StepCount | undefined;
  private readonly durationMs: number | undefined;
  private done = 0;
  private readonly own: Record<string, number> = {};
  private firstStepAt: number | undefined;
  private readonly unsubscribe: () => void;

  constructor(
    run: Run,
    options: {
      total: number;
      detection: LiveDetection;
      targets: readonly StartedTarget[];
      steps: StepCount | undefined;
      durationMs?: number | undefined;
    },
  ) {
    this.total = options.total;
    this.detection = options.detection;
    this.targets = options.targets;
    this.steps = options.steps;
    this.durationMs = options.durationMs;
    this.unsubscribe = run.history.subscribe((event: HistoryEvent) => {
      const own = ownDisruptionKind(event);
      if (own) this.own[own] = (this.own[own] ?? 0) + 1;
      const step = this.steps?.of(event);
      if (step === 'begun') this.firstStepAt ??= performance.now();
      if (step === 'done') this.done++;
    });
  }

  now(): RunStatus {
    const elapsedMs = performance.now() - this.started;
    const stepsMs = this.firstStepAt === undefined ? 0 : performance.now() - this.firstStepAt;
    const ratePerHour = stepsMs > 0 ? (this.done / stepsMs) * 3_600_000 : 0;
    let connected = 0;
    let total = 0;
    let label = 'clients';
    for (const target of this.targets) {
      const clients = target.clients();
      connected += clients.connected;
      total += clients.total;
      label = clients.label;
    }
    return {
      stepsDone: this.done,
      stepsTotal: this.total >= MAX_STEPS ? undefined : this.total,
      stepUnit: this.steps?.unit,
      ratePerHour,
      clientsConnected: connected,
      clientsTotal: total,
      clientsLabel: label,
      ownDisruptions: { ...this.own },
      incidents: this.detection.incidents.list().length,
      elapsedMs,
      etaMs: eta(
        // A driver that steps on its own terms (renewals) may pass the limit: no estimate then.
        this.steps !== undefined && this.done > 0 && this.done <= this.total
          ? ((this.total - this.done) / this.done) * stepsMs
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
function eta(bySteps: number | undefined, byDuration: number | undefined): number | undefined {
  if (bySteps === undefined) return byDuration;
  if (byDuration === undefined) return bySteps;
  return Math.min(bySteps, byDuration);
}
