import type { RingOptions } from '../capture/capture-window.ts';
import type { StartedFlightRecorder } from '../capture/flight-recorder.ts';
import type { Chaos } from '../nemesis/chaos.ts';
import type { NemesisSpec } from '../nemesis/nemesis.ts';
import type { Progress } from '../progress.ts';
import type { Run } from '../run/run.ts';
import type { StartedOf, StartedTarget, SystemUnderTest, TargetBuilder } from '../seam/target.ts';
import type { Expectation } from './expectations.ts';
import type { ParamSpecs, ParamValues } from './params.ts';

// biome-ignore lint/suspicious/noExplicitAny: any system, whatever its builder and observer options
export type AnySystem = SystemUnderTest<any, any>;
/** The builder type of a system. */
export type BuilderOf<System> =
  System extends SystemUnderTest<infer Builder, object> ? Builder : TargetBuilder;
/** The observer options of a system (Icinga's: persistence probe, resources, workers). */
export type ObserveOptionsOf<System> =
  System extends SystemUnderTest<TargetBuilder, infer Options> ? Options : object;

export interface StartOptions<ObserveOptions> {
  /**
   * The system's recorders and reactors start with the target (logs read, workers watched,
   * reactions to incidents): these options tune them; `false` turns them off (the detectors then
   * see only what drivers record).
   */
  observe?: ObserveOptions | false;
}

/** What a scenario's run() is handed: the run, its parameters, limits, and the pieces the runner owns. */
export interface ScenarioContext<P, System extends AnySystem = AnySystem> {
  run: Run;
  params: P;
  /**
   * How many steps (--reloads; the system's unit: Icinga's reloads, stunnel's episodes) and how
   * long (--duration), where given: a scenario's loop honours both.
   */
  limits: { steps: number; durationMs?: number };
  /** Aborted on SIGINT/SIGTERM and when --duration runs out: stop at the next safe point. */
  signal: AbortSignal;
  progress: Progress;
  /** A builder of the scenario's system for the version or image this run is for (--icinga / --image). */
  target(): BuilderOf<System>;
  /**
   * Starts a target in this run, and the system's observers on it; the runner stops both at the
   * end, also on error or interrupt.
   */
  start(
    builder: BuilderOf<System>,
    options?: StartOptions<ObserveOptionsOf<System>>,
  ): Promise<StartedOf<BuilderOf<System>>>;
  /**
   * Starts the flight recorder on a target (as --capture says: on by default): a capture ring per
   * watched node, the incident windows kept as decryptable pcapng. Undefined when captures are
   * off, or optional and unavailable.
   */
  capture(
    target: StartedTarget,
    options?: {
      ring?: RingOptions;
      beforeMs?: number;
      afterMs?: number;
      /**
       * Ctrl-C is how this scenario ends (a watch): the windows still open are read then, as at
       * any end. Otherwise an interrupted run keeps them unread, to stop within seconds.
       */
      readWhenInterrupted?: boolean;
    },
  ): Promise<StartedFlightRecorder | undefined>;
  /**
   * Starts nemeses on a target: faults on a schedule tied to its disruptions (`offsetMs` after a
   * reload is signalled, for `forMs`) or drawn from the seed. The runner heals them at the end.
   */
  chaos(target: StartedTarget, nemeses: readonly NemesisSpec[]): Chaos;
}

/**
 * A scenario: a module in scenarios/ default-exports one, and scenarios/index.ts lists it.
 * Importing it runs nothing; the runner (`hunt run <name>`) creates the run, calls run(ctx),
 * judges the expectations.
 */
export interface ScenarioDefinition<S extends ParamSpecs = ParamSpecs, System extends AnySystem = AnySystem> {
  name: string;
  summary: string;
  /** What it does, in a paragraph or two (`hunt run <name> --help`); default: the file's leading doc comment. */
  story?: string;
  /** The file it came from where it was given as one (`hunt run ./mine.ts`): a matrix's cells run that file. */
  file?: string;
  /** The system under test (`icinga`); --icinga / --image pick its build. */
  system: System;
  params: S;
  /** Steps in the system's unit when --reloads is not given (default 1). */
  defaultSteps?: number;
  expectations: readonly Expectation[];
  run(ctx: ScenarioContext<ParamValues<S>, System>): Promise<void>;
}

/** A scenario as the runner and the registry see it: parameters by name, untyped. */
export type Scenario = Omit<ScenarioDefinition, 'run'> & {
  run(ctx: ScenarioContext<Record<string, number | string>>): Promise<void>;
};

/** Declares a scenario with its parameters' and its system's types checked in run(ctx). */
export function defineScenario<S extends ParamSpecs, System extends AnySystem>(
  definition: ScenarioDefinition<S, System>,
): Scenario {
  return definition as unknown as Scenario;
}

/** A scenario's target in a line: `icinga (--icinga 2.12.3|2.13.6|2.14.6, default 2.13.6; or --image <ref>)`. */
export function describeTarget(scenario: Scenario): string {
  const { name, versions, defaultVersion, takesImages } = scenario.system;
  return `${name} (--${name} ${versions.join('|')}, default ${defaultVersion}${takesImages === false ? '' : '; or --image <ref>'})`;
}
