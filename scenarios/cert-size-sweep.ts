/**
 * Would smaller keys help? The forum thread asked, and guessed about 3,500 bytes per handshake
 * with RSA 4096 and 2,800 with 2048. This measures it: a stack whose certificates use `keys`,
 * whose ca.crt holds `cas` CA certificates (the root and fillers: a server names each one in its
 * CertificateRequest) and whose leaves hang under `intermediates` CAs (sent in every Certificate
 * message), reloaded a few times; then master1's handshake messages are read from its decrypted
 * capture: the Certificate it sends (with what its own certificate file predicts), the
 * CertificateRequest, the client's Certificate, the whole server flight. Reload and reconnect
 * times come with every run. Sweep it with a grid:
 *
 *   npx hunt matrix cert-size-sweep --icinga 2.13.6 --grid keys=rsa2048,rsa4096,ec-p256 --grid cas=1,50,500
 */
import {
  choice,
  defineScenario,
  icinga,
  integer,
  measureHandshakes,
  noIncident,
  parseKeySpec,
  storm,
} from '../harness/index.ts';

export default defineScenario({
  name: 'cert-size-sweep',
  summary:
    "handshake message sizes per key type, trust bundle and chain length, from master1's decrypted capture",
  system: icinga,
  params: {
    keys: choice({
      default: 'rsa4096',
      choices: ['rsa2048', 'rsa3072', 'rsa4096', 'ec-p256', 'ec-p384'],
      summary: "every node's key (and the CA's)",
    }),
    cas: integer({
      default: 1,
      min: 1,
      max: 1_000,
      unit: 'certificates',
      summary: 'CA certificates in ca.crt',
    }),
    intermediates: integer({
      default: 0,
      min: 0,
      max: 5,
      unit: 'CAs',
      summary: 'CAs between the root and the leaves',
    }),
    endpoints: integer({
      default: 10,
      min: 0,
      max: 2_000,
      unit: 'endpoints',
      summary: 'simulated endpoints',
    }),
    agents: integer({ default: 1, min: 0, max: 20, unit: 'containers', summary: 'real agents' }),
  },
  defaultSteps: 4,
  expectations: [noIncident()],
  async run(ctx) {
    const { keys, cas, intermediates, endpoints, agents } = ctx.params;
    const stack = await ctx.start(
      ctx
        .target()
        .masters(2)
        .agents(agents)
        .withSimulatedEndpoints(endpoints)
        .withKeys(parseKeySpec(keys))
        .withTrust({ cas, intermediates }),
    );
    await stack.ready({ timeoutMs: 180_000 });
    const recorder = await ctx.capture(stack);
    const from = Date.now();
    await storm(ctx, stack, { targets: 'both' });
    await measureHandshakes(stack, recorder, { node: 'master1', from, to: Date.now() });
  },
});
