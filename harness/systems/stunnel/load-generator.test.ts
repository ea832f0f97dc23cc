import { createServer, type Server } from 'node:https';
import t from 'tap';
import { CertificateAuthority } from '../../pki/certificate-authority.ts';
import { EC_P256 } from '../../pki/key-spec.ts';
import { eventually } from '../../test-kits/eventually.ts';
import { listenOnLoopback, type Teardown } from '../../test-kits/loopback.ts';
import {
  checkLoadOptions,
  failureKind,
  LoadGenerator,
  type LoadOptions,
  type LoadSecond,
  type LoadTarget,
} from './load-generator.ts';

// One CA and one certificate for "stunnel", as the real target presents, for every server here.
const ca = await CertificateAuthority.create({ keySpec: EC_P256 });
const certificate = await ca.issue('stunnel', EC_P256);

type Recorded = { source: string; type: string } & Record<string, unknown>;
type Counts = {
  offered: number;
  completed: number;
  timeouts: number;
  resets: number;
  errors: number;
  dropped: number;
};

/** An EventSink that keeps what the generator records, in order. */
function recorder() {
  const events: Recorded[] = [];
  return {
    events,
    sink: {
      record: (source: string, type: string, fields = {}) => void events.push({ source, type, ...fields }),
    },
    seconds: () => events.filter((event) => event.type === 'second') as unknown as LoadSecond[],
    stopped: () => events.find((event) => event.type === 'load-stopped') as unknown as Counts | undefined,
  };
}

type Behaviour = 'ok' | 'error-500' | 'reset' | 'hang';

/**
 * An HTTPS server on loopback that does what a test needs with each request; it counts the TLS
 * connections it accepted and the paths requested, and holds hung requests until teardown.
 */
async function httpsServer(t: Teardown, behaviour: Behaviour) {
  const paths: string[] = [];
  let connections = 0;
  const server: Server = createServer(
    { key: certificate.privateKeyPem, cert: certificate.certificatePem },
    (request, response) => {
      paths.push(request.url ?? '');
      if (behaviour === 'hang') return;
      if (behaviour === 'reset') {
        request.socket.destroy();
        return;
      }
      response.statusCode = behaviour === 'error-500' ? 500 : 200;
      response.end('x'.repeat(100));
    },
  );
  server.on('secureConnection', () => connections++);
  const { port, dropConnections } = await listenOnLoopback(t, server);
  return {
    paths,
    connections: () => connections,
    dropConnections,
    target: (servername = 'stunnel'): LoadTarget => ({
      node: 'stunnel',
      url: `https://127.0.0.1:${port}`,
      ca: ca.certificatePem,
      servername,
    }),
  };
}

/** Starts a load that a test stops itself (forMs is only a bound), stopped at teardown too. */
function startLoad(t: Teardown, target: LoadTarget, options: LoadOptions, events = recorder()) {
  const load = LoadGenerator.start(target, { forMs: 60_000, ...options }, events.sink);
  t.teardown(() => load.stop());
  return { load, events };
}

/** Every request offered is accounted for once: answered, failed, dropped, or still in flight at the end. */
function accountedFor(totals: Counts, lastSecond: LoadSecond | undefined): number {
  return (
    totals.completed +
    totals.timeouts +
    totals.resets +
    totals.errors +
    totals.dropped +
    (lastSecond?.inFlight ?? 0)
  );
}

t.test('options: the defaults, and every bound at its edge', async (t) => {
  t.same(checkLoadOptions({ rate: 10 }), {
    rate: 10,
    keepAliveConnections: 8,
    keepAliveShare: 0.5,
    path: '/small',
    timeoutMs: 5_000,
    maxInFlight: 1_000,
    forMs: 3_600_000,
  });
  const accepted: LoadOptions[] = [
    { rate: 1 },
    { rate: 5_000 },
    { rate: 1, keepAliveConnections: 1 },
    { rate: 1, keepAliveConnections: 1_000 },
    { rate: 1, keepAliveShare: 0 },
    { rate: 1, keepAliveShare: 1 },
    { rate: 1, path: '/' },
    { rate: 1, path: '/a/b.c-d_e' },
    { rate: 1, timeoutMs: 100 },
    { rate: 1, timeoutMs: 600_000 },
    { rate: 1, maxInFlight: 1 },
    { rate: 1, maxInFlight: 10_000 },
    { rate: 1, forMs: 1 },
    { rate: 1, forMs: 24 * 3_600_000 },
  ];
  for (const options of accepted) t.doesNotThrow(() => checkLoadOptions(options), JSON.stringify(options));
  const refused: [LoadOptions, RegExp][] = [
    [{ rate: 0 }, /rate is 1 to 5000 requests per second, not 0/],
    [{ rate: 5_001 }, /rate .* not 5001/],
    [{ rate: 1.5 }, /rate .* not 1\.5/],
    [{ rate: Number.NaN }, /rate .* not NaN/],
    [{ rate: 1, keepAliveConnections: 0 }, /keepAliveConnections is 1 to 1000, not 0/],
    [{ rate: 1, keepAliveConnections: 1_001 }, /keepAliveConnections .* not 1001/],
    [{ rate: 1, keepAliveShare: -0.1 }, /keepAliveShare is 0 to 1, not -0\.1/],
    [{ rate: 1, keepAliveShare: 1.1 }, /keepAliveShare .* not 1\.1/],
    [{ rate: 1, keepAliveShare: Number.NaN }, /keepAliveShare .* not NaN/],
    [{ rate: 1, path: 'small' }, /path is an absolute URL path, not "small"/],
    [{ rate: 1, path: '/small?x=1' }, /path .* not "\/small\?x=1"/],
    [{ rate: 1, path: '/a b' }, /path .* not "\/a b"/],
    [{ rate: 1, timeoutMs: 99 }, /timeoutMs is 100 to 600000, not 99/],
    [{ rate: 1, timeoutMs: 600_001 }, /timeoutMs .* not 600001/],
    [{ rate: 1, maxInFlight: 0 }, /maxInFlight is 1 to 10000, not 0/],
    [{ rate: 1, maxInFlight: 10_001 }, /maxInFlight .* not 10001/],
    [{ rate: 1, forMs: 0 }, /forMs is 1 ms to 24 h, not 0/],
    [{ rate: 1, forMs: 24 * 3_600_000 + 1 }, /forMs .* not 86400001/],
  ];
  for (const [options, message] of refused)
    t.throws(() => checkLoadOptions(options), { code: 'HH_USAGE', message }, JSON.stringify(options));
});

t.test('a refused option starts nothing: no event, no request', async (t) => {
  const server = await httpsServer(t, 'ok');
  const events = recorder();
  t.throws(() => LoadGenerator.start(server.target(), { rate: 0 }, events.sink), { code: 'HH_USAGE' });
  t.same(events.events, []);
  t.equal(server.connections(), 0);
});

t.test('failures are told apart: timeouts, resets, the rest', async (t) => {
  const cases: [unknown, 'timeout' | 'reset' | 'error'][] = [
    [Object.assign(new Error('aborted'), { name: 'TimeoutError' }), 'timeout'],
    [{ code: 'UND_ERR_HEADERS_TIMEOUT' }, 'timeout'],
    [{ code: 'UND_ERR_CONNECT_TIMEOUT' }, 'timeout'],
    [{ code: 'UND_ERR_BODY_TIMEOUT' }, 'timeout'],
    [{ code: 'X', cause: { code: 'ETIMEDOUT' } }, 'timeout'],
    [{ code: 'ECONNRESET' }, 'reset'],
    [{ code: 'UND_ERR_SOCKET' }, 'reset'],
    [{ cause: { code: 'EPIPE' } }, 'reset'],
    [{ code: 'HTTP' }, 'error'],
    [{ code: 'ERR_TLS_CERT_ALTNAME_INVALID' }, 'error'],
    [{ code: 'ECONNREFUSED' }, 'error'],
    [new Error('plain'), 'error'],
    [undefined, 'error'],
    [null, 'error'],
    ['a string', 'error'],
  ];
  for (const [error, kind] of cases) t.equal(failureKind(error), kind, JSON.stringify(error));
});

t.test('a load that runs its time: events in order, seconds adding up to the totals', async (t) => {
  const server = await httpsServer(t, 'ok');
  const events = recorder();
  const target = server.target();
  const load = LoadGenerator.start(target, { rate: 20, forMs: 1_500, path: '/medium' }, events.sink);
  t.teardown(() => load.stop());
  // forMs ends it by itself; the deadline only keeps a broken stop from hanging the test.
  await eventually('the load ends by itself', () => events.stopped() !== undefined);
  await load.finished();

  t.match(events.events[0], {
    source: 'load',
    type: 'load-started',
    node: 'stunnel',
    url: target.url,
    rate: 20,
    keepAliveConnections: 8,
    keepAliveShare: 0.5,
    path: '/medium',
    timeoutMs: 5_000,
    maxInFlight: 1_000,
    forMs: 1_500,
  });
  t.equal(events.events.at(-1)?.type, 'load-stopped', 'load-stopped comes last');
  t.notOk(events.events.at(-1)?.cutShort, 'it ran its time');
  t.equal(events.events.filter((event) => event.type === 'load-stopped').length, 1);
  const seconds = events.seconds();
  t.ok(seconds.length >= 1, 'at least the last (partial) second is recorded');
  t.ok(
    events.events.slice(1, -1).every((event) => event.type === 'second' && event.node === 'stunnel'),
    'between start and stop: only seconds, each naming the node',
  );

  const totals = load.summary();
  t.same(events.stopped(), { source: 'load', type: 'load-stopped', node: 'stunnel', ...totals });
  for (const key of ['offered', 'completed', 'timeouts', 'resets', 'errors', 'dropped'] as const)
    t.equal(
      seconds.reduce((sum, second) => sum + second[key], 0),
      totals[key],
      `the seconds' ${key} add up to the total`,
    );
  // Never more than the rate allows over forMs; a loopback server answers every one.
  t.ok(totals.offered >= 1 && totals.offered <= 30, `offered ${totals.offered} of at most 20/s * 1.5 s`);
  t.same(totals, {
    offered: totals.offered,
    completed: totals.offered,
    timeouts: 0,
    resets: 0,
    errors: 0,
    dropped: 0,
  });
  t.equal(server.paths.length, totals.completed, 'every completion is a request the server answered');
  t.ok(
    server.paths.every((path) => path === '/medium'),
    'every request goes to the path asked for',
  );
  // A share of 0.5 alternates: the first request opens a new connection, the second keeps one alive.
  const keepAlive = seconds.reduce((sum, second) => sum + second.keepAliveCompleted, 0);
  const fresh = seconds.reduce((sum, second) => sum + second.freshCompleted, 0);
  t.equal(fresh, Math.ceil(totals.offered / 2));
  t.equal(keepAlive, Math.floor(totals.offered / 2));
  for (const second of seconds) {
    t.equal(second.keepAliveCompleted + second.freshCompleted, second.completed);
    if (second.completed === 0) t.same([second.p50Ms, second.p99Ms, second.maxMs], [null, null, null]);
    else
      t.ok(
        second.p50Ms !== null &&
          second.p99Ms !== null &&
          second.maxMs !== null &&
          second.p50Ms >= 0 &&
          second.p50Ms <= second.p99Ms &&
          second.p99Ms <= second.maxMs,
        `percentiles in order: ${second.p50Ms} <= ${second.p99Ms} <= ${second.maxMs}`,
      );
  }
});

t.test('new-connection clients open a connection per request', async (t) => {
  const server = await httpsServer(t, 'ok');
  const { load, events } = startLoad(t, server.target(), { rate: 50, keepAliveShare: 0 });
  await eventually('10 requests answered', () => server.paths.length >= 10);
  await load.stop();
  const totals = load.summary();
  t.equal(totals.completed, server.paths.length);
  t.equal(server.connections(), server.paths.length, 'one TLS connection per request');
  t.equal(
    events.seconds().reduce((sum, second) => sum + second.keepAliveCompleted, 0),
    0,
    'none went over keep-alive',
  );
});

t.test('keep-alive clients reuse at most their connections', async (t) => {
  const server = await httpsServer(t, 'ok');
  const { load, events } = startLoad(t, server.target(), {
    rate: 50,
    keepAliveShare: 1,
    keepAliveConnections: 2,
  });
  const open = await eventually('a keep-alive connection is open', () => {
    const now = load.connections();
    return now.open >= 1 ? now : undefined;
  });
  t.equal(open.limit, 2, 'the limit is keepAliveConnections');
  t.ok(open.open <= 2, `${open.open} open of at most 2`);
  await eventually('20 requests answered', () => server.paths.length >= 20);
  await load.stop();
  t.equal(load.summary().completed, server.paths.length);
  t.ok(
    server.connections() >= 1 && server.connections() <= 2,
    `${server.connections()} connections for 20+ requests`,
  );
  t.equal(
    events.seconds().reduce((sum, second) => sum + second.freshCompleted, 0),
    0,
    'none opened a new connection',
  );
  t.equal(load.connections().open, 0, 'stop closes the keep-alive connections');
});

t.test('failures are counted by kind, never as completions', async (t) => {
  const cases: [string, Behaviour, 'errors' | 'resets' | 'timeouts', Partial<LoadOptions>, string?][] = [
    ['an HTTP 500 is an error', 'error-500', 'errors', {}],
    ['the server closing mid-request is a reset', 'reset', 'resets', {}],
    ['no answer within timeoutMs is a timeout', 'hang', 'timeouts', { timeoutMs: 200 }],
    // The CA is checked against the name: a certificate for "stunnel" is no good for "backend".
    ['a certificate for another name is an error', 'ok', 'errors', {}, 'backend'],
  ];
  for (const [name, behaviour, kind, options, servername] of cases)
    await t.test(name, async (t) => {
      const server = await httpsServer(t, behaviour);
      const { load, events } = startLoad(t, server.target(servername), { rate: 20, ...options });
      await eventually(`a second with ${kind}`, () => events.seconds().some((second) => second[kind] > 0));
      await load.stop();
      const totals = load.summary();
      t.ok(totals[kind] >= 1, `${totals[kind]} ${kind}`);
      t.equal(totals.completed, 0, 'nothing completed');
      for (const other of ['errors', 'resets', 'timeouts'] as const)
        if (other !== kind) t.equal(totals[other], 0, `no ${other}`);
      if (servername === 'backend')
        t.equal(server.paths.length, 0, 'no request was sent to an untrusted peer');
    });
});

t.test('over maxInFlight an offered request is dropped, not sent', async (t) => {
  const server = await httpsServer(t, 'hang');
  const { load, events } = startLoad(t, server.target(), { rate: 50, maxInFlight: 2, timeoutMs: 60_000 });
  await eventually('a second with drops', () => events.seconds().some((second) => second.dropped > 0));
  await load.stop();
  const totals = load.summary();
  const last = events.seconds().at(-1);
  t.equal(server.paths.length, 2, 'the server saw exactly maxInFlight requests');
  t.equal(last?.inFlight, 2, 'the last second has both still in flight');
  t.equal(totals.dropped, totals.offered - 2, 'everything past the two was dropped');
  t.same(
    { completed: totals.completed, timeouts: totals.timeouts, resets: totals.resets, errors: totals.errors },
    { completed: 0, timeouts: 0, resets: 0, errors: 0 },
    'requests torn down by stop are not counted as the target failing',
  );
});

t.test('a request that fails while stop waits for it is still counted', async (t) => {
  const server = await httpsServer(t, 'hang');
  const { load, events } = startLoad(t, server.target(), { rate: 20, timeoutMs: 60_000 });
  await eventually('requests held by the server', () => server.paths.length >= 3);
  const stopping = load.stop();
  // The target resets what it holds while the generator gives requests in flight a moment.
  server.dropConnections();
  await stopping;
  const totals = load.summary();
  t.equal(
    accountedFor(totals, events.seconds().at(-1)),
    totals.offered,
    `every offered request is counted once: ${JSON.stringify(totals)}, last in flight ${events.seconds().at(-1)?.inFlight}`,
  );
  t.equal(totals.completed, 0);
});

t.test('stop is idempotent, and finished() follows it', async (t) => {
  const server = await httpsServer(t, 'ok');
  const { load, events } = startLoad(t, server.target(), { rate: 20 });
  const finished = load.finished();
  const first = load.stop();
  t.equal(load.stop(), first, 'the same stop for every caller');
  await first;
  await finished;
  await load[Symbol.asyncDispose]();
  t.equal(events.events.filter((event) => event.type === 'load-stopped').length, 1, 'stopped once');
});

t.test('finished(signal) stops the load when the signal aborts', async (t) => {
  const server = await httpsServer(t, 'ok');
  await t.test('aborted later', async (t) => {
    const { load, events } = startLoad(t, server.target(), { rate: 20 });
    const controller = new AbortController();
    const finished = load.finished(controller.signal);
    await eventually('a request answered', () => server.paths.length >= 1);
    t.equal(events.stopped(), undefined, 'still running before the abort');
    controller.abort();
    await finished;
    t.match(events.stopped(), { cutShort: true }, 'load-stopped recorded, cut short of its time');
  });
  await t.test('already aborted', async (t) => {
    const { load, events } = startLoad(t, server.target(), { rate: 20 });
    await load.finished(AbortSignal.abort());
    t.ok(events.stopped(), 'load-stopped recorded');
  });
});

t.test('a timed-out load accounts for every request it offered', async (t) => {
  // Requests time out all along, including while stop waits for the last ones.
  const server = await httpsServer(t, 'hang');
  const events = recorder();
  const load = LoadGenerator.start(server.target(), { rate: 20, forMs: 1_200, timeoutMs: 300 }, events.sink);
  t.teardown(() => load.stop());
  await eventually('the load ends by itself', () => events.stopped() !== undefined);
  const totals = load.summary();
  t.ok(totals.timeouts >= 1, `${totals.timeouts} timeouts`);
  t.equal(accountedFor(totals, events.seconds().at(-1)), totals.offered, JSON.stringify(totals));
});
