import type { RingOptions } from '../capture/capture-window.ts';
import type { StartedFlightRecorder } from '../capture/flight-recorder.ts';
import type { ObserverOptions, StackObserver } from '../observe/stack-observer.ts';
import type { Progress } from '../progress.ts';
import type { StormOptions, StormSummary } from '../reload/reload-storm.ts';
import type { Run } from '../run/run.ts';
import type { IcingaStack, StartedIcingaStack } from '../stack/icinga-stack.ts';
import type { Expectation } from './expectations.ts';
import type { ParamSpecs, ParamValues } from './params.ts';

/** What a scenario's run() is handed: the run, its parameters, limits, and the pieces the runner owns. */
export interface ScenarioContext<P> {
  run: Run;
  params: P;
  /** --reloads and --duration, where given (a scenario's storm honours both). */
  limits: { reloads: number; durationMs?: number };
  /** Aborted on SIGINT/SIGTERM and when --duration runs out: stop at the next safe point. */
  signal: AbortSignal;
  progress: Progress;
  /** A stack builder for the Icinga version or image this run is for (--icinga / --image). */
  icinga(): IcingaStack;
  /** Starts a stack in this run; the runner stops it at the end, also on error. */
  start(builder: IcingaStack): Promise<StartedIcingaStack>;
  /** Starts the observers on a stack (they record events; detectors run on the history). */
  observe(stack: StartedIcingaStack, options?: ObserverOptions): StackObserver;
  /**
   * Starts the flight recorder on a stack (as --capture says: on by default): a capture ring per
   * master, the incident windows kept as decryptable pcapng. Undefined when captures are off, or
   * optional and unavailable.
   */
  capture(
    stack: StartedIcingaStack,
    options?: { ring?: RingOptions; beforeMs?: number; afterMs?: number },
  ): Promise<StartedFlightRecorder | undefined>;
  /** A reload storm with the run's limits (reloads, duration) and its abort signal. */
  storm(
    stack: StartedIcingaStack,
    options?: Omit<StormOptions, 'count' | 'signal' | 'maxDurationMs'>,
  ): Promise<StormSummary>;
}

/**
 * A scenario: a module in scenarios/ default-exports one. Importing it runs nothing; the
 * runner (`hunt run <name>`) creates the run, calls run(ctx), judges the expectations.
 */
export interface ScenarioDefinition<S extends ParamSpecs = ParamSpecs> {
  name: string;
  summary: string;
  params: S;
  /** Reloads when --reloads is not given. */
  defaultReloads: number;
  expectations: readonly Expectation[];
  run(ctx: ScenarioContext<ParamValues<S>>): Promise<void>;
}

/** A scenario as the runner and the registry see it: parameters by name, untyped. */
export type Scenario = Omit<ScenarioDefinition, 'run'> & {
  run(ctx: ScenarioContext<Record<string, number | string>>): Promise<void>;
};

/** Declares a scenario with its parameters' types checked in run(ctx). */
export function defineScenario<S extends ParamSpecs>(definition: ScenarioDefinition<S>): Scenario {
  return definition as unknown as Scenario;
}
