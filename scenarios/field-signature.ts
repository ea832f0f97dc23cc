/**
 * The field signature, on purpose: master1's daemon runs with the certificate-fault shim, which
 * (once switched on) makes OpenSSL refuse every peer's Certificate message, "excessive message
 * size", and answer alert 47, as in the forum thread: every handshake of one master fails, in
 * both directions, with every peer. The switch is a trigger file created `after` ms past
 * master1's first reload signal and removed `for` ms later. `mode` says how long the fault
 * lives: trigger (while the file exists), worker (in the worker that saw it: the next reload
 * clears it), umbrella (across reloads, until a restart clears it). The remedy is an operator's:
 * a master still refusing good clients after 5 s is reloaded, and restarted only if the reload
 * did not clear it, so the report tells a reload-fixes-it failure from a restart-only one, and
 * after how long the master recovered.
 *
 *   npx hunt run field-signature --param mode=umbrella [--icinga 2.12.3]
 */
import {
  CERT_FAULT_TRIGGER,
  choice,
  defineScenario,
  icinga,
  integer,
  oneIncidentPerNode,
  storm,
} from '../harness/index.ts';

export default defineScenario({
  name: 'field-signature',
  summary:
    'master1 refuses every Certificate message (the certificate-fault shim): must be one field-signature incident',
  system: icinga,
  params: {
    mode: choice({
      default: 'trigger',
      choices: ['trigger', 'worker', 'umbrella'],
      summary: 'while the trigger exists, latched per worker, or per umbrella (until a restart)',
    }),
    endpoints: integer({ default: 20, min: 0, max: 2000, unit: 'endpoints', summary: 'simulated endpoints' }),
    agents: integer({
      default: 2,
      min: 0,
      max: 20,
      unit: 'containers',
      summary: 'real agents (master1 dials them)',
    }),
    after: integer({
      // 0: the trigger is there before the new worker dials its peers (about a second after
      // the signal), so its first outbound handshakes fail too ("to"); at 500 ms a fast reload
      // dialled first and the signature showed one role only until the next dial.
      default: 0,
      min: 0,
      max: 600_000,
      unit: 'ms',
      summary: "from master1's first reload signal to the trigger",
    }),
    for: integer({
      default: 20_000,
      min: 1_000,
      max: 600_000,
      unit: 'ms',
      summary: 'how long the trigger file exists',
    }),
  },
  defaultSteps: 16,
  expectations: [oneIncidentPerNode('field-signature', { nodes: ['master1'], evidence: ['capture.pcapng'] })],
  async run(ctx) {
    const { mode, endpoints, agents, after } = ctx.params;
    const stack = await ctx.start(
      ctx
        .target()
        .masters(2)
        .agents(agents)
        .withSimulatedEndpoints(endpoints)
        .withCertFault(mode as 'trigger' | 'worker' | 'umbrella', 'master1'),
      { observe: { persistence: { probeForMs: 5_000, remedy: 'reload-then-restart' } } },
    );
    await stack.ready({ timeoutMs: 180_000 });
    await ctx.capture(stack);
    ctx.chaos(stack, [
      {
        nemesis: 'trigger-file',
        node: 'master1',
        attributes: { path: CERT_FAULT_TRIGGER },
        schedule: { after: 'reload-signalled', offsetMs: after, forMs: ctx.params.for, count: 1 },
      },
    ]);
    await storm(ctx, stack, { targets: 'staggered', staggerMs: 1_000, reconnectDeadlineMs: 30_000 });
  },
});
