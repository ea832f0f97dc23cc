/**
 * The race hunt: a master's TLS context swapped again and again while anonymous clients connect.
 * Anonymous `pki::UpdateCertificate` messages carrying the master's own certificate and CA (it
 * sends both in every handshake) make 2.12.3-2.14.6 swap their TLS context (advisory
 * GHSA-vj39-ww8j-vvx5, fixed in 2.14.9), and every swap drops the master's connections, as a
 * reload does. The context is replaced while the accept loop and the reconnect timer read it: on
 * 2.12.3 and 2.13.6 the whole daemon crashed within seconds in an independent check; 2.14.6 did
 * not. Swaps are counted from what the master logs. Any incident is the hunt's catch: a crash
 * (the master gone), a hang, the field signature (a live worker failing every handshake), or
 * anything else the detectors see. Only ever aimed at the harness's own stack.
 * `path=renewal` swaps the same context by Icinga's own path instead: master1 holds the CA, the
 * node reloads with an expiring certificate, asks master1 for a renewal, and master1's
 * pki::UpdateCertificate swaps it (2.13+; `swaps` renewals, one reload each: keep it small).
 *
 *   npx hunt run race-hunt --icinga 2.13.6 [--param rate=100 --param load=4 --param swaps=3000]
 *   npx hunt run race-hunt --icinga 2.14.6 --param path=renewal --param swaps=50
 */
import {
  choice,
  defineScenario,
  ErrorCodes,
  HuntError,
  icinga,
  integer,
  noIncident,
  RSA_4096,
  renewCertificates,
  swapContexts,
} from '../harness/index.ts';

export default defineScenario({
  name: 'race-hunt',
  summary:
    "anonymous pki::UpdateCertificate swaps of a master's TLS context under connect load: no incident expected",
  system: icinga,
  params: {
    path: choice({
      default: 'anonymous',
      choices: ['anonymous', 'renewal'],
      summary: "the advisory's anonymous message, or Icinga's own renewal from master1 (the CA holder)",
    }),
    node: choice({
      default: 'master2',
      choices: ['master1', 'master2'],
      summary: 'the master swapped (the field failure hit the second one)',
    }),
    rate: integer({
      default: 100,
      min: 1,
      max: 500,
      unit: 'swaps/s',
      summary: 'swaps sent per second at most',
    }),
    load: integer({
      default: 4,
      min: 0,
      max: 64,
      unit: 'loops',
      summary: 'anonymous connect loops beside the swaps',
    }),
    swaps: integer({ default: 3_000, min: 1, max: 1_000_000, unit: 'swaps', summary: 'swaps sent at most' }),
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
    const { path, node, rate, load, swaps, endpoints, agents } = ctx.params;
    if (path === 'renewal' && node === 'master1')
      throw new HuntError(
        ErrorCodes.USAGE,
        'path=renewal renews master2 (master1 holds the CA): --param node=master2.',
      );
    const target = ctx.target().masters(2).agents(agents).withSimulatedEndpoints(endpoints);
    const stack = await ctx.start(path === 'renewal' ? target.withRenewals('master1', [node]) : target, {
      observe: { workerEveryMs: 500 },
    });
    await stack.ready({ timeoutMs: 180_000 });
    await ctx.capture(stack);
    if (path === 'renewal')
      await renewCertificates(ctx, stack, { node, renewals: swaps, keySpec: RSA_4096, connectLoad: load });
    else await swapContexts(ctx, stack, { node, ratePerSecond: rate, connectLoad: load, maxSwaps: swaps });
  },
});
