import { FlightRecorder, type StartedFlightRecorder } from '../capture/flight-recorder.ts';
import { ErrorCodes, isHuntError } from '../errors.ts';
import { Chaos } from '../nemesis/chaos.ts';
import type { ChaosPlan } from '../nemesis/chaos-plan.ts';
import type { Progress } from '../progress.ts';
import type { Run } from '../run/run.ts';
import type { TargetSelection } from '../seam/target.ts';
import { budgetFor, type DiskBudget } from './disk-budget.ts';
import type { RunSession } from './run-session.ts';
import type { Scenario, ScenarioContext } from './scenario.ts';

/** What a scenario's context is made of: the run, its session, and the request's choices. */
export interface ContextParts {
  run: Run;
  session: RunSession;
  scenario: Scenario;
  params: Record<string, number | string>;
  selection: TargetSelection;
  limits: { steps: number; durationMs?: number };
  progress: Progress;
  capture: 'on' | 'off' | 'optional';
  secrets: boolean;
  budget: DiskBudget | undefined;
  diskCapBytes: number | undefined;
  ringBytes?: number | undefined;
  replayPlan: ChaosPlan | undefined;
}

/**
 * The context a scenario's run() is handed. Each part it starts (a target and its observers, a
 * flight recorder, chaos) registers its own teardown in the session as it starts, so a scenario
 * cannot forget one, and the runner keeps no list of its own.
 */
export function scenarioContext(parts: ContextParts): ScenarioContext<Record<string, number | string>> {
  const { run, session, scenario, progress, budget } = parts;
  let chaosCount = 0;
  return {
    run,
    params: parts.params,
    limits: parts.limits,
    signal: session.stop.signal,
    progress,
    target: () => scenario.system.builder(parts.selection),
    async start(builder, options = {}) {
      // Node key logs rotate like the run's own: generations of keylogBytes, one old one kept.
      const keylogMax = budget ? { maxBytes: budget.keylogBytes } : {};
      const started = await builder
        .withTlsSecrets(parts.secrets, keylogMax)
        .start(run, progress, session.stopSetUp.signal);
      session.targets.push(started);
      session.own('targets', () => started.stop());
      // Where the hunt begins: the timeline starts here, not at the image build before it.
      run.history.record('run', 'target-started', {
        system: started.system,
        nodes: started.nodes.map((node: { name: string }) => node.name),
      });
      // The runner owns observation: a scenario cannot forget it, only turn it off.
      if (options.observe !== false) {
        const observer = scenario.system.observe(started, options.observe ?? {});
        session.own('observers', () => observer.stop());
      }
      return started;
    },
    chaos(started, nemeses) {
      const chaos = Chaos.start(started, nemeses, (part) => run.random(part), {
        id: chaosCount++,
        replay: parts.replayPlan,
        anchors: scenario.system.anchors ?? {},
      });
      session.own('faults', () => chaos.stop());
      return chaos;
    },
    async capture(started, options = {}) {
      if (parts.capture === 'off') return undefined;
      let builder = FlightRecorder.of(started).secrets(parts.secrets);
      if (options.ring) builder = builder.ring(options.ring);
      else if (parts.diskCapBytes !== undefined)
        builder = builder.ring(budgetFor(parts.diskCapBytes, started.watched.length, parts.ringBytes).ring);
      if (options.beforeMs !== undefined || options.afterMs !== undefined)
        builder = builder.window({
          beforeMs: options.beforeMs ?? 30_000,
          afterMs: options.afterMs ?? 10_000,
        });
      let recorder: StartedFlightRecorder;
      try {
        recorder = await builder.start();
      } catch (error) {
        if (parts.capture !== 'optional' || !isHuntError(error, ErrorCodes.CAPTURE_UNAVAILABLE)) throw error;
        progress.step(`no captures: ${(error as Error).message}`);
        run.history.record('capture', 'capture-unavailable', { error: (error as Error).message });
        return undefined;
      }
      session.own('recorders', () =>
        recorder.stop(options.readWhenInterrupted ? {} : { hurry: session.interrupt.signal }),
      );
      return recorder;
    },
  };
}
