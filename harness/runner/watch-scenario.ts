import type { FoundInstance } from '../seam/target.ts';
import { noIncident } from './expectations.ts';
import { defineScenario, type Scenario } from './scenario.ts';

/**
 * `hunt watch` as a run: an instance found on this host (not started by the harness) is the
 * target; its system's observers and the flight recorder record it until Ctrl-C or --duration,
 * and what the detectors find becomes incidents with their capture windows, report and bundle,
 * as in any run. Nothing is driven: the instance's own clients are the load.
 */
export function watchScenario(found: FoundInstance): Scenario {
  return defineScenario({
    name: 'watch',
    summary: `watches ${found.node}, running on this host`,
    system: found.system,
    params: {},
    defaultSteps: 1,
    expectations: [noIncident()],
    async run(ctx) {
      const target = await ctx.start(ctx.target());
      // Ctrl-C is the watch's usual end: what it caught is read then, as at the end of any run.
      await ctx.capture(target, { readWhenInterrupted: true });
      ctx.progress.step(`watching ${found.lines[0] ?? found.node}; Ctrl-C ends the watch`);
      if (!ctx.signal.aborted)
        await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }));
    },
  });
}
