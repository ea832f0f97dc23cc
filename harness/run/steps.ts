import type { HistoryEvent } from './history.ts';

/** One step as its system tells it when it ended: its node, whether it did its job, its phases' times. */
export interface StepSample {
  node: string;
  ok: boolean;
  /** Milliseconds per phase measured (a phase not measured this time is left out). */
  phasesMs: Record<string, number>;
}

/** How a system's steps read from its history: the report's and the matrix's step figures. */
export interface StepFigures {
  /** The step that `event` ends, or undefined for any other event. */
  sampleOf(event: HistoryEvent): StepSample | undefined;
  /** The shortfall `event` notes of a step (a name the report counts under), or undefined. */
  shortfallOf?(event: HistoryEvent): string | undefined;
  /** The phases a step is timed in, in order, each with what it spans ("signal -> new worker serving"). */
  readonly phases: Readonly<Record<string, string>>;
}
