/**
 * Faults timed to reloads: the field's failure comes with reloads, so the faults come with them
 * too. Both masters reload; master2 sits behind the chaos proxy. After every `every`-th reload
 * signal of master1 its whole container freezes `pauseAfter` ms later for `pause` ms (the worker
 * stopped mid-handshake, its peers waiting); after master2's new listener comes up, its
 * connections get `latency` ms for 2 s (the reconnect wave arrives slow); and at moments drawn
 * from the seed master2 is held to a twentieth of a core for 2 s; and `burstAfter` ms after every
 * other signal of master2, every simulated endpoint cuts its connection to it and dials again at
 * once (aimed at the gap between the old worker's exit and the new listener). Every fault is a
 * `nemesis-started` event with its anchor and offset, shown in the report beside the incidents;
 * `hunt run --replay` repeats them at the same offsets after the same reloads.
 *
 *   npx hunt run handshake-chaos [--icinga 2.12.3] [--param pause=3000] [--reloads 60]
 */
import { defineScenario, icinga, integer, noIncident, storm } from '../harness/index.ts';

export default defineScenario({
  name: 'handshake-chaos',
  summary:
    'reloads with faults timed to them: master1 frozen after its signal, latency and CPU starvation on master2',
  system: icinga,
  params: {
    endpoints: integer({ default: 50, min: 0, max: 2000, unit: 'endpoints', summary: 'simulated endpoints' }),
    every: integer({
      default: 3,
      min: 1,
      max: 1000,
      unit: 'reloads',
      summary: 'freeze master1 after every n-th signal',
    }),
    pauseAfter: integer({
      default: 300,
      min: 0,
      max: 60_000,
      unit: 'ms',
      summary: 'from the signal to the freeze',
    }),
    pause: integer({
      default: 1500,
      min: 1,
      max: 60_000,
      unit: 'ms',
      summary: 'how long master1 stays frozen',
    }),
    burstAfter: integer({
      default: 600,
      min: 0,
      max: 60_000,
      unit: 'ms',
      summary: "from master2's signal to a reconnect burst of every simulated endpoint",
    }),
    latency: integer({
      default: 500,
      min: 0,
      max: 60_000,
      unit: 'ms',
      summary: "added to master2's data after its listener is up",
    }),
  },
  defaultSteps: 30,
  expectations: [noIncident()],
  async run(ctx) {
    const { endpoints, every, pauseAfter, pause, latency, burstAfter } = ctx.params;
    const stack = await ctx.start(
      ctx.target().masters(2).withSimulatedEndpoints(endpoints).proxied('master2'),
      {
        observe: { persistence: { probeForMs: 5_000 } },
      },
    );
    await stack.ready();
    await ctx.capture(stack);
    ctx.chaos(stack, [
      {
        nemesis: 'pause',
        node: 'master1',
        schedule: { after: 'reload-signalled', offsetMs: pauseAfter, forMs: pause, every },
      },
      {
        nemesis: 'toxic',
        node: 'master2',
        attributes: { type: 'latency', stream: 'downstream', attributes: { latency } },
        schedule: { after: 'listener-up', offsetMs: 0, forMs: 2_000, every: 2 },
      },
      {
        nemesis: 'reconnect-burst',
        node: 'master2',
        // 1 s covers the burst's reconnect wave and ends before the next burst's signal (a burst
        // still on would pass that anchor: a nemesis-skipped event, which --replay repeats).
        schedule: { after: 'reload-signalled', offsetMs: burstAfter, forMs: 1_000, every: 2 },
      },
      {
        nemesis: 'cpu-starve',
        node: 'master2',
        attributes: { cores: 0.05 },
        schedule: { seeded: true, withinMs: 120_000, forMs: 2_000, count: 3 },
      },
    ]);
    await storm(ctx, stack, { targets: 'both', reconnectDeadlineMs: 60_000 });
  },
});
