/**
 * The canary: proves the harness catches the field failure. One simulated endpoint sends a
 * 160-certificate chain (a ~173 KB Certificate message, past OpenSSL's 100 KiB limit) while both
 * masters are reloaded; each master must log `Client TLS handshake failed ... excessive message
 * size`, and the harness must make it one incident per master, with the log excerpt as evidence.
 *
 *   npx hunt run canary [--icinga 2.12.3|2.13.6|2.14.6]
 */
import { defineScenario, icinga, integer, oneIncidentPerNode, storm } from '../harness/index.ts';

export default defineScenario({
  name: 'canary',
  summary: 'forces "excessive message size" with an oversized client chain: must be caught on every master',
  system: icinga,
  params: {
    endpoints: integer({
      default: 20,
      min: 1,
      max: 2000,
      unit: 'endpoints',
      summary: 'simulated endpoints; the last one sends the oversized chain',
    }),
    padding: integer({
      default: 160,
      min: 130,
      max: 400,
      unit: 'certificates',
      summary: 'extra certificates in its chain (130+ is past 100 KiB)',
    }),
  },
  defaultSteps: 20,
  expectations: [oneIncidentPerNode('tls-handshake-failed', { role: 'master' })],
  async run(ctx) {
    const { endpoints, padding } = ctx.params;
    const stack = await ctx.start(
      ctx
        .target()
        .masters(2)
        .withSimulatedEndpoints(endpoints, { faults: { [`sim-${endpoints}`]: { chainPadding: padding } } }),
      { observe: { persistence: { probeForMs: 5_000 } } },
    );
    await stack.ready();
    // 20 s after the first sighting: Icinga reconnects its masters on a 10 s timer, so the window
    // holds a master-to-master handshake after a reload, decryptable with the key-log shim.
    await ctx.capture(stack, { afterMs: 20_000 });
    await storm(ctx, stack, { targets: 'both' });
  },
});
