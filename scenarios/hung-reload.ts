/**
 * The persistence hypothesis: a reload whose old worker hangs while shutting down. On Icinga 2
 * (2.11+) the umbrella waits for the old worker to exit before the new one may serve; if it never
 * exits, the new worker waits, and later reload signals only set a flag. The field saw a master
 * that refused every handshake until it was restarted. Here master1's old worker is stopped
 * (SIGSTOP) as its `at`-th reload is signalled, for `hang` ms, while a second SIGHUP comes
 * `hupAfter` ms into the hang; then it is let go (SIGCONT). The report says whether that reload
 * still completed once the worker went (its barrier is the hang), whether the extra SIGHUP was
 * honoured later (a worker replaced without a reload asked for it: the storm waits 5 s between
 * reloads so such a reload stands alone) or lost, and what the peers saw while
 * master1 served nobody. Nothing here is a fault of Icinga's: it tells a reload-fixes-it failure
 * from a restart-only one, per version.
 *
 *   npx hunt run hung-reload --icinga 2.12.3 [--param hang=20000]
 */
import {
  choice,
  defineScenario,
  dependingOn,
  ErrorCodes,
  HuntError,
  icinga,
  integer,
  noIncident,
  oneIncidentPerNode,
  storm,
} from '../harness/index.ts';

export default defineScenario({
  name: 'hung-reload',
  summary:
    "master1's old worker hangs as a reload begins (SIGSTOP, then SIGCONT): the reload and a SIGHUP sent meanwhile run once it goes",
  system: icinga,
  params: {
    hang: integer({
      default: 20_000,
      min: 1_000,
      max: 50_000,
      unit: 'ms',
      summary: "how long the old worker stays stopped (under the reload's 60 s deadline)",
    }),
    at: integer({
      default: 2,
      min: 1,
      max: 100,
      unit: 'reload',
      summary: "which of master1's reloads hangs",
    }),
    hup: choice({
      default: 'during',
      choices: ['during', 'none'],
      summary: 'a second SIGHUP during the hang, or none',
    }),
    hupAfter: integer({
      default: 5_000,
      min: 1,
      max: 49_000,
      unit: 'ms',
      summary: 'how far into the hang the second SIGHUP comes (less than hang)',
    }),
    endpoints: integer({ default: 20, min: 0, max: 2000, unit: 'endpoints', summary: 'simulated endpoints' }),
  },
  defaultSteps: 4,
  // Measured on 2.12.3, 2.13.6 and 2.14.6 alike: the reload waits for the hung worker and
  // finishes once it goes; the SIGHUP sent meanwhile is kept and runs right after, a worker
  // replaced with no reload asked for. A version that lost it would show no such incident.
  expectations: [
    dependingOn('hup', {
      during: [oneIncidentPerNode('worker-replaced', { nodes: ['master1'], evidence: [] })],
      none: [noIncident()],
    }),
  ],
  async run(ctx) {
    const { hang, at, hup, hupAfter, endpoints } = ctx.params;
    if (hup === 'during' && hupAfter >= hang)
      throw new HuntError(
        ErrorCodes.USAGE,
        `hupAfter (${hupAfter} ms) must come within the hang (${hang} ms).`,
      );
    const stack = await ctx.start(ctx.target().masters(2).agents(1).withSimulatedEndpoints(endpoints));
    await stack.ready({ timeoutMs: 180_000 });
    await ctx.capture(stack);
    const onThatReload = { after: 'reload-signalled' as const, from: at, count: 1 };
    ctx.chaos(stack, [
      { nemesis: 'hung-worker', node: 'master1', schedule: { ...onThatReload, offsetMs: 0, forMs: hang } },
      ...(hup === 'during'
        ? [
            {
              nemesis: 'signal',
              node: 'master1',
              attributes: { signal: 'SIGHUP' },
              schedule: { ...onThatReload, offsetMs: hupAfter, forMs: 0 },
            },
          ]
        : []),
    ]);
    // 5 s between reloads: a reload the umbrella kept from the hang's SIGHUP shows on its own
    // (a worker replaced with no reload asked for: worker-replaced), not merged into the next.
    await storm(ctx, stack, {
      targets: 'master1',
      reconnectDeadlineMs: 60_000,
      schedule: { kind: 'fixed', everyMs: 5_000 },
    });
  },
});
