import t from 'tap';
import { LiveDetection } from '../observe/detection.ts';
import { Run } from '../run/run.ts';
import { icinga } from '../systems/icinga/icinga-system.ts';
import { IcingaStack } from '../systems/icinga/stack/icinga-stack.ts';
import { StackObserver } from '../systems/icinga/stack-observer.ts';

// The chaos proxy inside a stack: master1 and the simulated endpoints reach master2 only
// through it, and a toxic that rewrites the ClientHello's declared length makes master2 log
// the field failure ("excessive message size") on purpose.
t.test('a proxied master: the field failure made on purpose, an incident, then recovery', async (t) => {
  await using run = await Run.create({ name: 'it-proxied' });
  await using stack = await IcingaStack.version('2.13.6')
    .masters(2)
    .withSimulatedEndpoints(10)
    .proxied('master2')
    .start(run);
  await stack.ready({ timeoutMs: 120_000 });
  const proxy = stack.proxy('master2');
  t.ok(
    proxy.stats.accepted >= 11,
    `master1 and the 10 simulated endpoints reach master2 through the proxy (${proxy.stats.accepted} connections)`,
  );
  t.throws(() => stack.proxy('master1'), { code: 'HH_USAGE', message: /proxied nodes are master2/ });

  const detection = LiveDetection.of(run, icinga.detectors);

  const observer = new StackObserver(stack).start();
  t.teardown(async () => {
    await observer.stop();
    await detection.stop();
  });
  await proxy.addToxic({
    name: 'huge-client-hello',
    type: 'tls_length',
    stream: 'upstream',
    attributes: { message: 'ClientHello', length: 200_000 },
  });
  // Cut the live connections: everyone handshakes again, through the toxic.
  await proxy.disable();
  await proxy.enable();
  const line = await stack.master(2).log.waitFor(/excessive message size/, { timeoutMs: 30_000 });
  t.match(line?.text, /TLS handshake failed/, 'master2 logged the field failure');
  const incident = await waitFor(() =>
    detection.incidents.list().find((i) => i.kind === 'tls-handshake-failed' && i.node === 'master2'),
  );
  t.ok(incident, 'one tls-handshake-failed incident for master2');
  t.ok(
    incident?.reasons.some((reason) => /excessive message size/.test(reason)),
    `its reasons name the failure: ${incident?.reasons.join(' | ')}`,
  );

  proxy.removeToxic('huge-client-hello');
  // master1 comes back on Icinga's reconnect timer (10 s), the swarm at once.
  await stack.ready({ timeoutMs: 60_000 });
  t.pass('everyone reconnected once the toxic was gone');
});

async function waitFor<T>(probe: () => T | undefined, timeoutMs = 10_000): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
