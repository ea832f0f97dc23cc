/**
 * The field setup: two masters in one HA zone, two real agents, N simulated endpoints, and
 * reloads of both masters, each verified (new worker serving, every endpoint back). A healthy
 * stack gives no incident; anything found is worth a look.
 *
 *   npx hunt run reload-storm [--param endpoints=500] [--reloads 2000 | --duration 8h]
 */
import { choice, defineScenario, icinga, integer, noIncident, storm } from '../harness/index.ts';

export default defineScenario({
  name: 'reload-storm',
  summary: 'the field setup: 2 masters, 2 agents, N simulated endpoints, reloads of both masters',
  system: icinga,
  params: {
    endpoints: integer({
      default: 200,
      min: 0,
      max: 5000,
      unit: 'endpoints',
      summary: 'simulated endpoints',
    }),
    agents: integer({ default: 2, min: 0, max: 20, unit: 'containers', summary: 'real agent containers' }),
    targets: choice({
      default: 'both',
      choices: ['both', 'staggered', 'master1', 'master2'],
      summary: 'which masters each step reloads',
    }),
    every: integer({
      default: 0,
      min: 0,
      max: 3_600_000,
      unit: 'ms',
      summary: 'pause between steps (0: as fast as verified)',
    }),
    jitter: integer({
      default: 0,
      min: 0,
      max: 3_600_000,
      unit: 'ms',
      summary: 'the pause varies by up to this, drawn from the seed',
    }),
  },
  defaultSteps: 120,
  expectations: [noIncident()],
  async run(ctx) {
    const { endpoints, agents, targets, every, jitter } = ctx.params;
    const stack = await ctx.start(ctx.target().masters(2).agents(agents).withSimulatedEndpoints(endpoints), {
      observe: { persistence: { probeForMs: 5_000 }, resourceEveryMs: 10_000 },
    });
    await stack.ready({ timeoutMs: 180_000 });
    await ctx.capture(stack);
    await storm(ctx, stack, {
      targets: targets as 'both' | 'staggered' | 'master1' | 'master2',
      schedule: every + jitter > 0 ? { kind: 'jitter', everyMs: every, jitterMs: jitter } : { kind: 'asap' },
      reconnectDeadlineMs: 30_000,
    });
  },
});
