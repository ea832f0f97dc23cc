import { once } from 'node:events';
import { createServer } from 'node:net';
import t from 'tap';
import { collect, dial, echoServer, proxyTo, roundTrip } from '../test-kits/proxy.ts';
import { ChaosProxy } from './chaos-proxy.ts';

t.test('without toxics, bytes pass both ways untouched', async (t) => {
  const { address } = await echoServer(t);
  const proxy = await proxyTo(t, address);
  const payload = Buffer.from(Array.from({ length: 300_000 }, (_, i) => i % 251));
  const { data } = await roundTrip(proxy.listen, payload);
  t.ok(data.equals(payload));
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.equal(proxy.stats.bytesUpstream, 300_000);
});

t.test('toxicity picks connections from the seed: 0 none, 1 all, 0.5 the same ones every time', async (t) => {
  const { address } = await echoServer(t);
  const affected = async (toxicity: number, seed: number) => {
    const proxy = await proxyTo(
      t,
      address,
      [{ type: 'limit_data', stream: 'upstream', toxicity, attributes: { bytes: 0 } }],
      seed,
    );
    const hits: number[] = [];
    for (let i = 1; i <= 20; i++) if ((await roundTrip(proxy.listen, 'x')).data.length === 0) hits.push(i);
    return hits;
  };
  t.same(await affected(0, 1), []);
  t.equal((await affected(1, 1)).length, 20);
  const half = await affected(0.5, 9);
  t.ok(half.length > 3 && half.length < 17, `${half.length} of 20 at toxicity 0.5`);
  t.same(await affected(0.5, 9), half, 'same seed, same connections');
});

t.test('a selector limits a toxic to the k-th connection', async (t) => {
  const { address } = await echoServer(t);
  const proxy = await proxyTo(t, address, [
    { type: 'limit_data', stream: 'upstream', attributes: { bytes: 0 }, selector: { connection: 2 } },
  ]);
  const results = [];
  for (let i = 0; i < 3; i++) results.push((await roundTrip(proxy.listen, 'abc')).data.toString());
  t.same(results, ['abc', '', 'abc']);
});

t.test('toxics added and removed at run time apply to open connections', async (t) => {
  const { address } = await echoServer(t);
  const proxy = await proxyTo(t, address);
  const socket = await dial(proxy.listen);
  const result = collect(socket);
  await proxy.addToxic({ name: 'late', type: 'latency', attributes: { latency: 300 } });
  const started = performance.now();
  socket.write('a');
  await new Promise((resolve) => setTimeout(resolve, 50));
  proxy.removeToxic('late');
  socket.end('b');
  const { data, endedAt } = await result;
  t.equal(data.toString(), 'ab', 'order kept across the change');
  const ms = endedAt - started;
  // Held while the toxic was there; on removal what it held goes on at once (as in Toxiproxy).
  t.ok(ms >= 45 && ms < 250, `'a' was held until the toxic went (${Math.round(ms)} ms), not its full 300 ms`);
});

t.test('disable drops connections and stops listening; enable listens again', async (t) => {
  const { address } = await echoServer(t);
  const proxy = await proxyTo(t, address);
  const socket = await dial(proxy.listen);
  const closed = collect(socket);
  await proxy.disable();
  t.equal((await closed).error, 'ECONNRESET');
  await t.rejects(dial(proxy.listen), { code: 'ECONNREFUSED' });
  await proxy.enable();
  t.equal((await roundTrip(proxy.listen, 'back')).data.toString(), 'back');
});

t.test('bad input: unknown toxic, toxicity outside 0..1, a port in use, a missing upstream', async (t) => {
  const { address } = await echoServer(t);
  const proxy = await proxyTo(t, address);
  await t.rejects(proxy.addToxic({ type: 'nonsense' }), {
    code: 'HH_TOXIC_UNKNOWN',
    message: /Known: .*latency/,
  });
  await t.rejects(proxy.addToxic({ type: 'latency', toxicity: 1.5 }), {
    code: 'HH_USAGE',
    message: /0 to 1/,
  });
  await t.rejects(proxy.addToxic({ type: 'latency', attributes: { latency: -5 } }), {
    code: 'HH_USAGE',
    message: /latency/,
  });
  await t.rejects(
    ChaosProxy.start({
      seed: 1,
      name: 'clash',
      listen: proxy.listen,
      upstream: address,
    }),
    {
      code: 'HH_PROXY_LISTEN',
      message: /in use/,
    },
  );
  await t.rejects(
    ChaosProxy.start({
      seed: 1,
      name: 'none',
      listen: { host: '127.0.0.1', port: 0 },
      upstream: undefined as never,
    }),
    {
      code: 'HH_USAGE',
      message: /upstream/,
    },
  );
  for (const host of ['192.0.2.10', '8.8.8.8', '2001:db8::1'])
    await t.rejects(
      ChaosProxy.start({
        seed: 1,
        name: 'away',
        listen: { host: '127.0.0.1', port: 0 },
        upstream: { host, port: 80 },
      }),
      { code: 'HH_USAGE', message: /neither loopback nor a private/ },
      `an upstream outside this machine and its containers (${host}) is refused`,
    );
  await t.rejects(
    ChaosProxy.start({
      seed: 1,
      name: 'unknown',
      listen: { host: '127.0.0.1', port: 0 },
      upstream: { host: 'no-such-host.invalid', port: 80 },
    }),
    { code: 'HH_USAGE', message: /does not resolve/ },
  );
});

t.test('an upstream that refuses is a counted, recorded connection error, never a crash', async (t) => {
  const closedPort = createServer();
  closedPort.listen(0, '127.0.0.1');
  await once(closedPort, 'listening');
  const port = (closedPort.address() as { port: number }).port;
  closedPort.close();
  const events: string[] = [];
  const proxy = await ChaosProxy.start({
    seed: 1,
    name: 'dead',
    listen: { host: '127.0.0.1', port: 0 },
    upstream: { host: '127.0.0.1', port },
    events: {
      record: (_s, type, fields) => events.push(`${type}:${(fields as { error?: string }).error ?? ''}`),
    },
  });
  t.teardown(() => proxy.close());
  for (let i = 0; i < 3; i++) await roundTrip(proxy.listen, 'x');
  t.equal(proxy.stats.upstreamErrors, 3);
  t.equal(events.filter((e) => e === 'upstream-error:ECONNREFUSED').length, 3);
  t.ok(proxy.enabled, 'still serving');
});
