/**
 * Reloads over a bad network: master2 sits behind the chaos proxy, and a share of the
 * connections to it (the other master's, the simulated endpoints') get latency. Which
 * connections is drawn from the run's seed, so `hunt run --replay` picks the same ones.
 *
 *   npx hunt run flaky-network --param latency=500 --param toxicity=30
 */
import { defineScenario, icinga, integer, noIncident, storm } from '../harness/index.ts';

export default defineScenario({
  name: 'flaky-network',
  summary: 'reloads with master2 behind the chaos proxy; a share of its connections get latency',
  system: icinga,
  params: {
    endpoints: integer({ default: 50, min: 0, max: 5000, unit: 'endpoints', summary: 'simulated endpoints' }),
    latency: integer({
      default: 200,
      min: 0,
      max: 60_000,
      unit: 'ms',
      summary: 'delay added to master2 -> peer data',
    }),
    jitter: integer({
      default: 50,
      min: 0,
      max: 60_000,
      unit: 'ms',
      summary: 'the delay varies by up to this',
    }),
    toxicity: integer({
      default: 50,
      min: 0,
      max: 100,
      unit: '%',
      summary: 'share of connections that get the latency',
    }),
  },
  defaultSteps: 20,
  expectations: [noIncident()],
  async run(ctx) {
    const { endpoints, latency, jitter, toxicity } = ctx.params;
    const stack = await ctx.start(
      ctx.target().masters(2).withSimulatedEndpoints(endpoints).proxied('master2'),
      {
        observe: { persistence: { probeForMs: 5_000 } },
      },
    );
    await stack.ready();
    await ctx.capture(stack);
    await stack.proxy('master2').addToxic({
      name: 'latency',
      type: 'latency',
      stream: 'downstream',
      toxicity: toxicity / 100,
      attributes: { latency, jitter },
    });
    await storm(ctx, stack, { targets: 'both', reconnectDeadlineMs: 60_000 });
  },
});
