import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTcpServer } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type Docker from 'dockerode';
import t from 'tap';
import { ErrorCodes } from '../../errors.ts';
import { CertificateAuthority } from '../../pki/certificate-authority.ts';
import { EC_P256 } from '../../pki/key-spec.ts';
import type { ChaosProxy } from '../../proxy/chaos-proxy.ts';
import { Run } from '../../run/run.ts';
import type { ContainerNode } from '../../seam/container-node.ts';
import { eventually } from '../../test-kits/eventually.ts';
import { listenOnFixedPort, type Teardown } from '../../test-kits/loopback.ts';
import { STUNNEL_PORT } from './stunnel-config.ts';
import { stunnelVersions } from './stunnel-image.ts';
import { BACKEND, STUNNEL, StartedStunnel, StunnelTarget, waitUntilServing } from './stunnel-target.ts';

// start() checks its settings before it looks for an engine; an engine at a socket that does not
// exist answers every start that gets past the checks with HH_ENGINE_UNAVAILABLE, and starts nothing.
const NO_ENGINE = 'unix:///nonexistent/hh-stunnel-target-test.sock';

const ca = await CertificateAuthority.create({ keySpec: EC_P256 });
const stunnelCertificate = await ca.issue(STUNNEL, EC_P256);

/**
 * The started target connects to port 443 of a node's address, as stunnel listens in its container.
 * Loopback addresses other than 127.0.0.1 stand in for the nodes; binding 443 needs privileges.
 */
const cannotBind443 = await new Promise<string | false>((resolve) => {
  const probe = createTcpServer();
  probe.once('error', (error: NodeJS.ErrnoException) =>
    resolve(`binding 127.61.0.1:${STUNNEL_PORT} failed (${error.code}): needs root or CAP_NET_BIND_SERVICE`),
  );
  probe.listen(STUNNEL_PORT, '127.61.0.1', () => probe.close(() => resolve(false)));
});

/** A node as StartedStunnel uses it: a name, an address, its log's path, whether it runs, stop. */
function fakeNode(
  name: string,
  address: string,
  behaviour: { isRunning?: (calls: number) => boolean; stopFails?: boolean } = {},
) {
  const calls = { isRunning: 0, stop: 0 };
  const node = {
    name,
    role: name,
    address,
    capture: undefined,
    log: { path: `/results/${name}/log` },
    isRunning: async () => behaviour.isRunning?.(++calls.isRunning) ?? true,
    stop: async () => {
      calls.stop++;
      if (behaviour.stopFails) throw new Error(`${name} would not stop`);
    },
  };
  return { node: node as unknown as ContainerNode, calls };
}

/** The only Docker call a started target makes itself: removing its network. */
function fakeDocker(options: { removeFails?: boolean } = {}) {
  const removed: string[] = [];
  const docker = {
    getNetwork: (id: string) => ({
      remove: async () => {
        removed.push(id);
        if (options.removeFails) throw new Error('network in use');
      },
    }),
  };
  return { docker: docker as unknown as Docker, removed };
}

async function started(
  t: Teardown & { testdir(): string },
  nodes: ContainerNode[] = [],
  options: { docker?: Docker; backendProxy?: ChaosProxy } = {},
) {
  const run = await Run.create({ name: 'stunnel-target', resultsDir: t.testdir() });
  const target = new StartedStunnel({
    docker: options.docker ?? fakeDocker().docker,
    run,
    network: 'hh-net-1',
    caPem: ca.certificatePem,
    nodes,
    backendProxy: options.backendProxy,
  });
  t.teardown(async () => {
    await target.stop();
    await run[Symbol.asyncDispose]();
  });
  return { run, target };
}

t.test('the versions are those of the catalogue', async (t) => {
  for (const version of stunnelVersions) t.doesNotThrow(() => StunnelTarget.version(version), version);
  t.throws(() => StunnelTarget.version('5.99'), {
    code: ErrorCodes.VERSION_UNKNOWN,
    message: new RegExp(`"5\\.99".*Known versions: ${stunnelVersions.join(', ').replaceAll('.', '\\.')}`),
  });
});

t.test('start refuses what stunnel or its namespace cannot have, before any engine', async (t) => {
  t.intercept(process, 'env', { value: { ...process.env, DOCKER_HOST: NO_ENGINE } });
  await using run = await Run.create({ name: 'refused', resultsDir: t.testdir() });
  const target = () => StunnelTarget.version('5.68');
  const refused: [string, StunnelTarget, RegExp][] = [
    ['debug 8', target().withDebug(8), /debug level is 0 to 7, not 8/],
    ['debug -1', target().withDebug(-1), /debug level is 0 to 7, not -1/],
    ['no log at all', target().withLogging({ syslog: false }), /must log somewhere/],
    ['the fifo sink with syslog', target().withLogSink('fifo').withLogging({ syslog: true }), /fifo sink/],
    // The fifo sink turned syslog off: taking output away too leaves stunnel no log.
    [
      'the fifo sink without output',
      target().withLogSink('fifo').withLogging({ output: false }),
      /log somewhere/,
    ],
    [
      'a forward queue of 9',
      target().withLogSink('rsyslog-forward', { queue: 9 }),
      /queue is 10 to 10000000 messages, not 9/,
    ],
    [
      'TIMEOUTidle past a day',
      target().withTimeouts({ idle: 86_401 }),
      /TIMEOUTidle is 0 to 86400 s, not 86401/,
    ],
    ['a negative TIMEOUTclose', target().withTimeouts({ close: -1 }), /TIMEOUTclose .* not -1/],
    ['a dgram queue of 0', target().withDgramQueue(0), /dgram queue is 1 to 100000, not 0/],
    ['a dgram queue of 100001', target().withDgramQueue(100_001), /dgram queue .* not 100001/],
    ['a backlog of 65536', target().withBacklog(65_536), /backlog is 1 to 65535, not 65536/],
    ['a backlog of 0.5', target().withBacklog(0.5), /backlog .* not 0\.5/],
    ['a file limit of 0', target().withFileLimit(0), /file limit is 1 to 1048576, not 0/],
    ['a file limit of 1048577', target().withFileLimit(1_048_577), /file limit .* not 1048577/],
  ];
  for (const [name, builder, message] of refused)
    await t.rejects(builder.start(run), { code: ErrorCodes.USAGE, message }, name);
});

t.test('settings within bounds pass the checks and go on to the engine', async (t) => {
  t.intercept(process, 'env', { value: { ...process.env, DOCKER_HOST: NO_ENGINE } });
  await using run = await Run.create({ name: 'accepted', resultsDir: t.testdir() });
  const target = () => StunnelTarget.version('5.68');
  // A builder refused earlier must not change the next one's defaults.
  await t.rejects(target().withDebug(8).withLogging({ syslog: false }).start(run), {
    code: ErrorCodes.USAGE,
  });
  const accepted: [string, StunnelTarget][] = [
    ['the defaults', target()],
    ['debug 0', target().withDebug(0)],
    ['debug 7', target().withDebug(7)],
    ['output besides syslog', target().withLogging({ output: true })],
    ['output instead of syslog', target().withLogging({ syslog: false, output: true })],
    ['an empty withLogging keeps syslog', target().withLogging({})],
    ['the fifo sink (syslog off, output on)', target().withLogSink('fifo')],
    ['the fifo sink, then an empty withLogging', target().withLogSink('fifo').withLogging({})],
    ['a forward queue of 10', target().withLogSink('rsyslog-forward', { queue: 10 })],
    ['a forward queue of 10000000', target().withLogSink('rsyslog-forward', { queue: 10_000_000 })],
    ['timeouts at their edges', target().withTimeouts({ busy: 0, idle: 86_400 })],
    ['dgram queues 1 and 100000', target().withDgramQueue(1).withDgramQueue(100_000)],
    ['a refused value set right again', target().withBacklog(65_536).withBacklog(65_535)],
    ['a file limit of 1', target().withFileLimit(1)],
    ['a file limit of 1048576', target().withFileLimit(1_048_576)],
    [
      'the rest of the builder',
      target().withDelay(true).withBackendProxy().withKeys(EC_P256).withTlsSecrets(false, { maxBytes: 1024 }),
    ],
  ];
  for (const [name, builder] of accepted)
    await t.rejects(
      builder.start(run),
      { code: ErrorCodes.ENGINE_UNAVAILABLE, message: /nonexistent\/hh-stunnel-target-test\.sock/ },
      name,
    );
});

t.test('a started target names its nodes, watches stunnel, and gives its URL', async (t) => {
  const empty = (await started(t)).target;
  t.throws(() => empty.url, { code: ErrorCodes.USAGE, message: /No node stunnel .*\(nodes: \)/ });
  const backend = fakeNode(BACKEND, '172.30.0.2');
  const front = fakeNode(STUNNEL, '172.30.0.3');
  const { target } = await started(t, [backend.node, front.node]);
  t.same(
    target.nodes.map((node) => node.name),
    [BACKEND, STUNNEL],
  );
  t.same(
    target.watched.map((node) => node.name),
    [STUNNEL],
    'only stunnel is watched',
  );
  t.equal(target.node(STUNNEL), front.node);
  t.equal(target.node(BACKEND), backend.node);
  t.throws(() => target.node('collector'), {
    code: ErrorCodes.USAGE,
    message: 'No node collector in this stunnel target (nodes: backend, stunnel).',
  });
  t.equal(target.url, 'https://172.30.0.3:443');
  t.equal(target.system, 'stunnel');
  t.equal(target.caPem, ca.certificatePem);
  t.equal(target.network, 'hh-net-1');
  t.same(target.clients(), { connected: 0, total: 0, label: 'keep-alive' }, 'no load, no clients');
  t.equal(target.connectionIn({ t: 1, at: '', source: 'load', type: 'second' }), undefined);
  t.equal(target.proxyFor(BACKEND), undefined, 'no proxy unless one was put in front of the backend');
  const proxy = { close: async () => undefined } as unknown as ChaosProxy;
  const proxied = (await started(t, [backend.node, front.node], { backendProxy: proxy })).target;
  t.equal(proxied.proxyFor(BACKEND), proxy);
  t.equal(proxied.proxyFor(STUNNEL), undefined, 'only the backend has a proxy');
});

t.test("a load that ended is let go: the status line counts the running ones' clients", async (t) => {
  // On loopback, where nothing listens on 443: the requests fail, the load still runs its time.
  const { target } = await started(t, [fakeNode(STUNNEL, '127.0.0.1').node]);
  const first = target.load({ rate: 5, keepAliveConnections: 4, forMs: 200 });
  const second = target.load({ rate: 5, keepAliveConnections: 3, forMs: 60_000 });
  t.equal(target.clients().total, 7, 'both running');
  await first.finished();
  await eventually('the ended one let go', () => target.clients().total === 3);
  await second.stop();
  await eventually('none left', () => target.clients().total === 0);
});

t.test('stop takes everything down once, whatever fails on the way', async (t) => {
  const engine = fakeDocker({ removeFails: true });
  const backend = fakeNode(BACKEND, '172.30.0.2', { stopFails: true });
  const front = fakeNode(STUNNEL, '172.30.0.3');
  let proxyClosed = 0;
  const backendProxy = {
    close: async () => {
      proxyClosed++;
      throw new Error('proxy would not close');
    },
  } as unknown as ChaosProxy;
  const { run, target } = await started(t, [backend.node, front.node], {
    docker: engine.docker,
    backendProxy,
  });
  // Callers at once and after: the steps run once.
  await Promise.all([target.stop(), target.stop()]);
  await target[Symbol.asyncDispose]();
  t.equal(proxyClosed, 1, 'the proxy closed once');
  t.same([backend.calls.stop, front.calls.stop], [1, 1], 'every node stopped once, the failing one too');
  t.same(engine.removed, ['hh-net-1'], 'the run network removed');
  const stopped = run.history.recent().filter((event) => event.type === 'stack-stopped');
  t.match(stopped, [{ source: 'stack', nodes: [BACKEND, STUNNEL] }]);
  t.equal(stopped.length, 1);
});

t.test('waiting for stunnel to serve', async (t) => {
  await t.test('stunnel that exited is a configuration error naming both logs', async (t) => {
    // Nothing listens on this loopback address: every handshake is refused at once.
    const front = fakeNode(STUNNEL, '127.61.0.9', { isRunning: () => false });
    await t.rejects(waitUntilServing(front.node, ca.certificatePem, '/results/container.log'), {
      code: ErrorCodes.CONFIG_INVALID,
      message: 'stunnel exited at start: see /results/container.log and /results/stunnel/log.',
    });
    t.equal(front.calls.isRunning, 1, 'asked once, after the first failed handshake');
  });

  await t.test('while stunnel runs it keeps trying until the signal aborts', async (t) => {
    const controller = new AbortController();
    const front = fakeNode(STUNNEL, '127.61.0.9', {
      isRunning: (calls) => {
        if (calls === 3) controller.abort();
        return true;
      },
    });
    await t.rejects(
      waitUntilServing(front.node, ca.certificatePem, '/results/container.log', controller.signal),
      {
        name: 'AbortError',
      },
    );
    t.equal(front.calls.isRunning, 3, 'three failed tries, then the abort');
  });

  await t.test('an aborted signal stops it before any try', async (t) => {
    const front = fakeNode(STUNNEL, '127.61.0.9');
    await t.rejects(
      waitUntilServing(front.node, ca.certificatePem, '/results/container.log', AbortSignal.abort()),
      {
        name: 'AbortError',
      },
    );
    t.equal(front.calls.isRunning, 0);
  });

  await t.test(
    'serving is a handshake stunnel proves with the run CA',
    { skip: cannotBind443 },
    async (t) => {
      const server = createTlsServer({
        key: stunnelCertificate.privateKeyPem,
        cert: stunnelCertificate.certificatePem,
      });
      server.on('secureConnection', (socket) => socket.end());
      await listenOnFixedPort(t, server, STUNNEL_PORT, '127.61.0.1');
      const front = fakeNode(STUNNEL, '127.61.0.1');
      await waitUntilServing(front.node, ca.certificatePem, '/results/container.log');
      t.equal(front.calls.isRunning, 0, 'the first handshake succeeded');
    },
  );

  const otherCa = await CertificateAuthority.create({ keySpec: EC_P256 });
  const impostors: [string, { certificatePem: string; privateKeyPem: string }, string][] = [
    ['a certificate for another name', await ca.issue(BACKEND, EC_P256), '127.61.0.2'],
    ['a certificate from another CA', await otherCa.issue(STUNNEL, EC_P256), '127.61.0.3'],
  ];
  for (const [name, certificate, host] of impostors)
    await t.test(`${name} is not stunnel serving`, { skip: cannotBind443 }, async (t) => {
      const server = createTlsServer({ key: certificate.privateKeyPem, cert: certificate.certificatePem });
      server.on('secureConnection', (socket) => socket.end());
      server.on('tlsClientError', () => undefined);
      const listening = await listenOnFixedPort(t, server, STUNNEL_PORT, host);
      const controller = new AbortController();
      const front = fakeNode(STUNNEL, host, {
        isRunning: (calls) => {
          if (calls === 2) controller.abort();
          return true;
        },
      });
      await t.rejects(
        waitUntilServing(front.node, ca.certificatePem, '/results/container.log', controller.signal),
        {
          name: 'AbortError',
        },
      );
      t.equal(listening.accepted(), 2, 'two handshakes tried, neither taken for stunnel');
    });
});

t.test(
  'load goes to stunnel with the run CA, and stops with the target',
  { skip: cannotBind443 },
  async (t) => {
    const { run, target } = await started(t, [
      fakeNode(BACKEND, '127.61.0.5').node,
      fakeNode(STUNNEL, '127.61.0.4').node,
    ]);
    const paths: string[] = [];
    const server = createHttpsServer(
      { key: stunnelCertificate.privateKeyPem, cert: stunnelCertificate.certificatePem },
      (request, response) => {
        paths.push(request.url ?? '');
        response.end('ok');
      },
    );
    await listenOnFixedPort(t, server, STUNNEL_PORT, '127.61.0.4');

    const first = target.load({ rate: 20, keepAliveConnections: 3, forMs: 60_000 });
    const second = target.load({ rate: 20, keepAliveConnections: 5, forMs: 60_000, path: '/large' });
    await eventually('both loads answered', () => paths.includes('/small') && paths.includes('/large'));
    const clients = await eventually('keep-alive connections open', () => {
      const now = target.clients();
      return now.connected >= 2 ? now : undefined;
    });
    t.equal(clients.total, 8, 'the limits of both loads');
    t.ok(clients.connected <= 8, `${clients.connected} connected of 8`);
    t.equal(clients.label, 'keep-alive');

    await target.stop();
    for (const load of [first, second]) {
      const totals = load.summary();
      t.ok(totals.completed >= 1, `${totals.completed} completed`);
      t.equal(totals.errors + totals.resets + totals.timeouts, 0, 'no failures');
    }
    const events = run.history.recent();
    const loadStarts = events.filter((event) => event.type === 'load-started');
    t.match(loadStarts, [
      {
        source: 'load',
        node: STUNNEL,
        url: 'https://127.61.0.4:443',
        keepAliveConnections: 3,
        path: '/small',
      },
      {
        source: 'load',
        node: STUNNEL,
        url: 'https://127.61.0.4:443',
        keepAliveConnections: 5,
        path: '/large',
      },
    ]);
    const stoppedAt = events
      .map((event, index) => (event.type === 'load-stopped' ? index : -1))
      .filter((i) => i >= 0);
    const stackStoppedAt = events.findIndex((event) => event.type === 'stack-stopped');
    t.equal(stoppedAt.length, 2, 'both loads stopped');
    t.ok(stackStoppedAt > Math.max(...stoppedAt), 'the loads stop before the stack is reported stopped');
  },
);
