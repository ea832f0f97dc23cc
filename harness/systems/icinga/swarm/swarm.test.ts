import { readFile } from 'node:fs/promises';
import { createServer } from 'node:tls';
import t, { type Test } from 'tap';
import { CertificateAuthority } from '../../../pki/certificate-authority.ts';
import { EC_P256 } from '../../../pki/key-spec.ts';
import type { HistoryEvent } from '../../../run/history.ts';
import { KeylogFile } from '../../../run/keylog-file.ts';
import { eventually } from '../../../test-kits/eventually.ts';
import { listenOnLoopback, type Teardown } from '../../../test-kits/loopback.ts';
import { encodeNetstring, NetstringParser } from './netstring.ts';
import { Swarm, SwarmEvents, zeroCounters } from './swarm.ts';

/**
 * A stand-in master on loopback that speaks the cluster protocol: it checks the client
 * certificate, answers Hello, sends one ExecuteCommand, and can drop everyone (a "reload").
 */
async function fakeMaster(t: Teardown, ca: CertificateAuthority) {
  const cert = await ca.issue('master1', EC_P256);
  const received: Array<{ cn: string; message: { method: string; params: Record<string, unknown> } }> = [];
  const server = createServer(
    {
      key: cert.privateKeyPem,
      cert: cert.certificatePem,
      ca: ca.certificatePem,
      requestCert: true,
      rejectUnauthorized: true,
    },
    (socket) => {
      socket.on('error', () => undefined);
      const cn = socket.getPeerCertificate().subject.CN as string;
      const parser = new NetstringParser();
      socket.on('data', (chunk: Buffer) => {
        for (const raw of parser.push(chunk)) {
          const message = JSON.parse(raw.toString());
          received.push({ cn, message });
          if (message.method === 'icinga::Hello') {
            socket.write(
              encodeNetstring(
                JSON.stringify({
                  jsonrpc: '2.0',
                  method: 'icinga::Hello',
                  params: { version: 21406, capabilities: 3 },
                }),
              ),
            );
            socket.write(
              encodeNetstring(
                JSON.stringify({
                  jsonrpc: '2.0',
                  method: 'event::ExecuteCommand',
                  params: { command_type: 'check_command', command: 'load', host: cn, service: 'load' },
                }),
              ),
            );
          }
        }
      });
    },
  );
  const { port, dropConnections } = await listenOnLoopback(t, server);
  return {
    target: { name: 'master1', host: '127.0.0.1', port, version: 21406 },
    received,
    dropAll: dropConnections,
  };
}

t.test(
  'endpoints connect with their own certificate, say Hello, answer checks, log TLS secrets',
  async (t) => {
    const ca = await CertificateAuthority.create({ keySpec: EC_P256 });
    const master = await fakeMaster(t, ca);
    const dir = t.testdir();
    const keylog = new KeylogFile(`${dir}/swarm.keylog`);
    const events: HistoryEvent[] = [];
    const swarm = await Swarm.start({
      seed: 1,
      endpoints: ['sim-1', 'sim-2', 'sim-3'],
      targets: [master.target],
      ca,
      checks: { kind: 'fixed', state: 2, output: 'CRITICAL - from the test' },
      keylog,
      events: { record: (source, type, fields) => events.push({ t: 0, at: '', source, type, ...fields }) },
    });
    t.teardown(() => swarm.stop());
    t.ok(await swarm.waitAllEstablished(5000), 'all established');
    // Each endpoint's first check result follows its hello: wait for the three results.
    await eventually(
      'three check results at the master',
      () => master.received.filter((r) => r.message.method === 'event::CheckResult').length >= 3,
    );
    const hellos = master.received.filter((r) => r.message.method === 'icinga::Hello');
    t.same(hellos.map((h) => h.cn).sort(), ['sim-1', 'sim-2', 'sim-3'], 'each endpoint presented its own CN');
    t.same(hellos[0]?.message.params, { version: 21406, capabilities: 3 });
    const results = master.received.filter((r) => r.message.method === 'event::CheckResult');
    t.equal(results.length, 3);
    t.match(results[0]?.message.params, {
      host: results[0]?.cn,
      service: 'load',
      cr: { state: 2, output: 'CRITICAL - from the test', performance_data: [] },
    });
    t.equal(swarm.counters.checksExecuted, 3);
    t.ok(
      events.some(
        (e) => e.type === 'handshake-done' && typeof e.protocol === 'string' && typeof e.cipher === 'string',
      ),
    );
    await keylog.close();
    t.match(
      await readFile(`${dir}/swarm.keylog`, 'utf8'),
      /^(CLIENT_HANDSHAKE_TRAFFIC_SECRET|CLIENT_RANDOM) [0-9a-f]+ [0-9a-f]+$/m,
    );
  },
);

/** 20 simulated endpoints, all connected to a fake master. */
async function connectedSwarm(t: Test, seed: number) {
  const ca = await CertificateAuthority.create({ keySpec: EC_P256 });
  const master = await fakeMaster(t, ca);
  const swarm = await Swarm.start({
    endpoints: Array.from({ length: 20 }, (_, i) => `sim-${i + 1}`),
    targets: [master.target],
    ca,
    seed,
  });
  t.teardown(() => swarm.stop());
  t.ok(await swarm.waitAllEstablished(5000), 'all connected');
  return { master, swarm };
}

t.test('after the master drops everyone, every endpoint reconnects and the time is measured', async (t) => {
  const { master, swarm } = await connectedSwarm(t, 3);
  const mark = Date.now();
  master.dropAll();
  // The drop is seen first (every session counted as disconnected), then the way back.
  await eventually('every session dropped', () => swarm.counters.disconnects >= 20);
  t.ok(await swarm.waitAllEstablished(5000), 'all back');
  const samples = swarm.reconnects(mark);
  t.equal(samples.length, 20, 'one reconnect sample per endpoint');
  t.ok(samples.every((s) => s.ms >= 0 && s.ms < 5000));
  t.equal(swarm.counters.disconnects, 20);
});

t.test('a reconnect burst cuts every session to the master and all dial again at once', async (t) => {
  const { master, swarm } = await connectedSwarm(t, 5);
  const mark = performance.now();
  const back = swarm.waitReconnected(swarm.sessions, mark, 5000);
  t.equal(swarm.burst(master.target.name), 20, 'every established session cut');
  t.equal(swarm.burst('nobody'), 0, 'another master has none');
  t.equal(await back, true, 'every session came back');
  t.equal(swarm.counters.disconnects, 20);
});

t.test('waitReconnected resolves when every session came back after the mark, not before', async (t) => {
  const { master, swarm } = await connectedSwarm(t, 4);
  const since = performance.now();
  t.equal(
    await swarm.waitReconnected(swarm.sessions, since, 300),
    false,
    'sessions still on their old connections do not count',
  );
  const mark = performance.now();
  const waiting = swarm.waitReconnected(swarm.sessions, mark, 5000);
  master.dropAll();
  t.equal(await waiting, true, 'every session reconnected');
  t.ok(swarm.sessions.every((s) => s.state === 'established' && (s.establishedAt ?? 0) >= mark));
  t.equal(await swarm.waitReconnected(swarm.sessions, mark, 10), true, 'already satisfied: at once');
});

t.test('a master that is down is a connect failure, not a TLS failure', async (t) => {
  const ca = await CertificateAuthority.create({ keySpec: EC_P256 });
  const swarm = await Swarm.start({
    seed: 1,
    endpoints: ['sim-1'],
    targets: [{ name: 'master1', host: '127.0.0.1', port: 1, version: 21406 }],
    ca,
    reconnect: { baseMs: 10, maxMs: 50 },
  });
  t.teardown(() => swarm.stop());
  await eventually('two refused attempts', () => swarm.counters.connectsFailed >= 2);
  t.ok(swarm.counters.connectsFailed >= 2, `${swarm.counters.connectsFailed} refused attempts`);
  t.equal(swarm.counters.handshakesFailed, 0);
});

t.test('a certificate from another CA is refused, counted, and retried with backoff', async (t) => {
  const ca = await CertificateAuthority.create({ keySpec: EC_P256 });
  const master = await fakeMaster(t, ca);
  const swarm = await Swarm.start({
    seed: 1,
    endpoints: ['sim-good', 'sim-bad'],
    targets: [master.target],
    ca,
    faults: { 'sim-bad': { wrongCa: true } },
    reconnect: { baseMs: 20, maxMs: 100 },
  });
  t.teardown(() => swarm.stop());
  t.ok(await swarm.waitAllEstablished(3000, swarm.sessionsOf('sim-good')));
  await eventually('the wrong CA refused twice', () => (swarm.sessionsOf('sim-bad')[0]?.failures ?? 0) >= 2);
  t.equal(swarm.sessionsOf('sim-bad')[0]?.state === 'established', false);
  // Node's TLS server hangs up without an alert (Icinga's OpenSSL sends one: see the integration test).
  t.ok(swarm.counters.closedBeforeHello >= 2, `retried (${swarm.counters.closedBeforeHello} rejections)`);
  t.ok((swarm.sessionsOf('sim-bad')[0]?.failures ?? 0) >= 2);
});

t.test(
  'routine session events: the first 2,000 one by one, then one activity event per second',
  async (t) => {
    const recorded: Array<{ type: string; fields?: Record<string, unknown> }> = [];
    const counters = zeroCounters();
    const events = new SwarmEvents(
      { record: (_source, type, fields) => recorded.push({ type, fields }) },
      counters,
    );
    t.teardown(() => events.stop());
    for (let i = 0; i < 2_500; i++) events.record('swarm', i % 2 === 0 ? 'handshake-done' : 'disconnect', {});
    events.record('swarm', 'handshake-failed', { error: 'excessive message size' });
    t.equal(recorded.filter((e) => e.type !== 'handshake-failed').length, 2_000, 'the first 2,000 in detail');
    t.equal(recorded.at(-1)?.type, 'handshake-failed', 'a failure is recorded at once, whatever the count');
    events.flush();
    t.same(recorded.at(-1), {
      type: 'activity',
      fields: { counts: { 'handshake-done': 250, disconnect: 250 }, everyMs: 1000 },
    });
    t.equal(counters.handshakesDone, 1_250, 'the counters see every event');
    t.equal(counters.disconnects, 1_250);
    events.flush();
    t.equal(recorded.at(-1)?.type, 'activity', 'nothing new: no empty activity event');
    t.equal(recorded.filter((e) => e.type === 'activity').length, 1);
  },
);
