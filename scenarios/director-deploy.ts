/**
 * Deploys as Icinga Director makes them: a stage of the `director` package with zones.d content
 * for the masters' zone, through the REST API to master1 (the config master), which validates it
 * and reloads; its new worker syncs the zone config to master2, which reloads too. The forum
 * thread's cluster reloaded on every Director deploy, every few minutes: here `every` ms apart,
 * every `changeEvery`-th deploy with new content (the others the same again, as Director
 * sometimes deploys). 423 and 503 answers are retried within a bound; old stages are removed.
 * Every deploy must reload master1, and master2 when the content changed (new worker pids), and
 * every endpoint must come back: nothing may fail silently.
 *
 *   npx hunt run director-deploy [--param deploys=20 --param every=2000] [--icinga 2.12.3]
 */
import { defineScenario, deployLikeDirector, icinga, integer, noIncident } from '../harness/index.ts';

export default defineScenario({
  name: 'director-deploy',
  summary:
    'Director-style config deploys to master1, synced to master2: every deploy reloads both, no incident',
  system: icinga,
  params: {
    deploys: integer({ default: 6, min: 1, max: 10_000, unit: 'deploys', summary: 'deploys to make' }),
    every: integer({
      default: 3_000,
      min: 0,
      max: 3_600_000,
      unit: 'ms',
      summary: 'from one deploy to the next',
    }),
    changeEvery: integer({
      default: 1,
      min: 0,
      max: 1_000,
      unit: 'deploys',
      summary: 'every n-th deploy changes the content (0: never)',
    }),
    endpoints: integer({
      default: 20,
      min: 0,
      max: 2_000,
      unit: 'endpoints',
      summary: 'simulated endpoints',
    }),
    agents: integer({ default: 1, min: 0, max: 20, unit: 'containers', summary: 'real agents' }),
  },
  defaultSteps: 1,
  expectations: [noIncident()],
  async run(ctx) {
    const { deploys, every, changeEvery, endpoints, agents } = ctx.params;
    const stack = await ctx.start(ctx.target().masters(2).agents(agents).withSimulatedEndpoints(endpoints));
    await stack.ready({ timeoutMs: 180_000 });
    await ctx.capture(stack);
    await deployLikeDirector(stack, {
      configMaster: 'master1',
      deploys,
      everyMs: every,
      changeEvery,
      signal: ctx.signal,
    });
  },
});
