import { once } from 'node:events';
import { createServer } from 'node:net';
import t from 'tap';
import { eventually } from '../test-kits/eventually.ts';
import { collect, dial, echoServer, proxyTo, roundTrip, within } from '../test-kits/proxy.ts';
import { ChaosProxy } from './chaos-proxy.ts';

t.test('without toxics, bytes pass both ways untouched', async (t) => {
  const { address } = await echoServer(t);
  const proxy = await proxyTo(t, address);
  const payload = Buffer.from(Array.from({ length: 300_000 }, (_, i) => i % 251));
  const { data } = await roundTrip(proxy.listen, payload);
  t.ok(data.equals(payload));
  // The proxy counts a connection's bytes when it closes its side, which may follow the client's close.
  await eventually('the proxy closes its connection', () => proxy.stats.active === 0);
  t.equal(proxy.stats.bytesUpstream, 300_000, 'counted upstream');
  t.equal(proxy.stats.bytesDownstream, 300_000, 'counted downstream');
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
  // Pinned: connection k is picked where derivedRandom(9, `${k}:limit_data_upstream:upstream`)() < 0.5.
  const half = await affected(0.5, 9);
  t.same(half, [1, 2, 4, 5, 9, 11, 12, 15, 17, 19, 20], 'seed 9 picks exactly these connections');
  t.same(await affected(0.5, 9), half, 'same seed, same connections');
  t.notSame(await affected(0.5, 10), half, 'another seed, other connections');
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
  const events: Array<{ type: string; fields?: Record<string, unknown> }> = [];
  const proxy = await proxyTo(t, address, [], 1, {
    record: (_s, type, fields) => events.push({ type, fields }),
  });
  const socket = await dial(proxy.listen);
  const result = collect(socket);
  let aArrivedAt: number | undefined;
  socket.on('data', (chunk: Buffer) => {
    if (chunk.includes('a')) aArrivedAt ??= performance.now();
  });
  // Long enough that 'a' cannot come out by its latency while the test runs; short enough that the
  // timer a removed link leaves behind does not keep the process up for long.
  const latency = 3_000;
  await proxy.addToxic({
    name: 'late',
    type: 'latency',
    attributes: { latency },
    selector: { connection: 1 },
  });
  const written = performance.now();
  socket.write('a');
  await eventually('the echoed "a" reaches the latency toxic', () =>
    events.some((e) => e.type === 'toxic-applied' && e.fields?.toxic === 'late'),
  );
  // The moment has passed: a round trip on a connection the toxic leaves alone came back first.
  t.equal((await roundTrip(proxy.listen, 'control')).data.toString(), 'control');
  t.equal(aArrivedAt, undefined, "'a' is held while the toxic is there");
  proxy.removeToxic('late');
  socket.end('b');
  const { data } = await within('the connection closes', result);
  t.equal(data.toString(), 'ab', 'nothing lost, order kept across the change');
  // As in Toxiproxy, a removed toxic hands on what it holds at once, not when its latency is up.
  const ms = (aArrivedAt ?? Number.NaN) - written;
  t.ok(ms < latency, `'a' arrived ${Math.round(ms)} ms after it was sent, before its ${latency} ms`);
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
