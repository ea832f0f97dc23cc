import type Docker from 'dockerode';
import t, { type Test } from 'tap';
import { ErrorCodes } from '../../../errors.ts';
import type { CertificateAuthority } from '../../../pki/certificate-authority.ts';
import type { ChaosProxy } from '../../../proxy/chaos-proxy.ts';
import type { HistoryEvent } from '../../../run/history.ts';
import { Run } from '../../../run/run.ts';
import { eventually, within } from '../../../test-kits/eventually.ts';
import type { NodeSettings, Topology } from './icinga-config.ts';
import type { StartedIcingaNode } from './icinga-node.ts';
import { StartedIcingaStack, StoppedIcingaStack } from './started-icinga-stack.ts';

/**
 * A node without a container. A master's API answers from `seen` (endpoint -> connected; an
 * endpoint it does not know is absent) or fails with `apiError`; every question is counted.
 */
class FakeNode {
  readonly name: string;
  readonly role: 'master' | 'agent';
  readonly address: string;
  seen = new Map<string, boolean>();
  apiError: Error | undefined;
  /** The disconnectedOnly flag of each endpointConnections() call. */
  readonly asked: boolean[] = [];
  stopped = 0;
  banner = 'icinga2 - The Icinga 2 network monitoring daemon (version: r2.14.2-1)\nOpenSSL 3.0.17 1 Jul 2025';

  constructor(name: string, role: 'master' | 'agent', address: string) {
    this.name = name;
    this.role = role;
    this.address = address;
  }

  readonly api = {
    endpointConnections: async ({ disconnectedOnly = false }: { disconnectedOnly?: boolean } = {}) => {
      this.asked.push(disconnectedOnly);
      if (this.apiError) throw this.apiError;
      return new Map([...this.seen].filter(([, connected]) => !disconnectedOnly || !connected));
    },
  };

  readonly container = {
    exec: async (command: string[]) => {
      if (command.join(' ') !== 'icinga2 --version') throw new Error(`unexpected ${command.join(' ')}`);
      return { output: `${this.banner}\n`, exitCode: 0 };
    },
  };

  async stop(): Promise<void> {
    this.stopped++;
  }

  /** Sees every other endpoint of `names` connected. */
  seesAll(names: string[]): void {
    for (const name of names) if (name !== this.name) this.seen.set(name, true);
  }
}

const asNode = (node: FakeNode) => node as unknown as StartedIcingaNode;

function fakeDocker() {
  const removed: string[] = [];
  const docker = {
    getNetwork: (name: string) => ({
      remove: async () => {
        removed.push(name);
        throw new Error('network in use'); // a failed removal must not fail stop()
      },
    }),
    getImage: (name: string) => ({
      inspect: async () => {
        if (name !== 'handshake-hunter/icinga2:2.14.2') throw new Error('no such image');
        return { Id: 'sha256:abc' };
      },
    }),
    version: async () => ({ Version: '28.1.1' }),
  };
  return { docker: docker as unknown as Docker, removed };
}

const SETTINGS: NodeSettings = { ticketSalt: 'salt', logSeverity: 'information', checkInterval: 10 };

/** A started stack of fakes: nodes added in the order a real start adds them (masters reversed). */
async function fakeStack(
  t: Test,
  options: { agents?: number; simulated?: string[]; signal?: AbortSignal; proxies?: ChaosProxy[] } = {},
) {
  const run = await Run.create({ name: 'stack-unit', seed: 3, resultsDir: t.testdir() });
  t.teardown(() => run.history.close());
  const agents = Array.from({ length: options.agents ?? 1 }, (_, i) => `agent-${i + 1}`);
  const topology: Topology = {
    masters: ['master1', 'master2'],
    agents,
    simulated: options.simulated,
    agentConnection: 'masters-dial',
    hostOf: {},
  };
  const { docker, removed } = fakeDocker();
  const nodes = new Map<string, FakeNode>();
  for (const [i, name] of [...agents, 'master2', 'master1'].entries())
    nodes.set(name, new FakeNode(name, name.startsWith('master') ? 'master' : 'agent', `10.9.0.${i + 2}`));
  const stack = new StartedIcingaStack({
    docker,
    run,
    network: 'hh-net-1',
    topology,
    ca: {} as CertificateAuthority,
    settings: SETTINGS,
    image: 'handshake-hunter/icinga2:2.14.2',
    signal: options.signal,
    nodes: [...nodes.values()].map(asNode),
    proxies: new Map((options.proxies ?? []).map((proxy) => [proxy.name, proxy])),
  });
  const master1 = nodes.get('master1') as FakeNode;
  const master2 = nodes.get('master2') as FakeNode;
  const everyone = [...topology.masters, ...agents];
  return { run, stack, nodes, master1, master2, everyone, removed };
}

function fakeProxy(name: string) {
  const calls: string[] = [];
  const proxy = {
    name,
    listen: { host: '127.0.0.1', port: 40_001 },
    retarget: async (to: { host: string; port: number }) => void calls.push(`retarget ${to.host}:${to.port}`),
    close: async () => void calls.push('close'),
  };
  return { proxy: proxy as unknown as ChaosProxy, calls };
}

t.test('nodes are found by name and listed masters first, in the topology order', async (t) => {
  const { stack, nodes, run } = await fakeStack(t, { agents: 2 });
  t.same(
    stack.nodes.map((node) => node.name),
    ['master1', 'master2', 'agent-1', 'agent-2'],
    'whatever order they started in',
  );
  t.same(
    stack.masters.map((node) => node.name),
    ['master1', 'master2'],
  );
  t.same(
    stack.agents.map((node) => node.name),
    ['agent-1', 'agent-2'],
  );
  t.same(
    stack.watched.map((node) => node.name),
    ['master1', 'master2'],
    'observers watch the masters',
  );
  t.equal(stack.node('agent-2'), asNode(nodes.get('agent-2') as FakeNode));
  t.equal(stack.master(2), asNode(nodes.get('master2') as FakeNode), 'master(2) is master2');
  t.throws(() => stack.node('master3'), {
    code: ErrorCodes.USAGE,
    message: 'This stack has no node "master3".',
  });
  t.throws(() => stack.master(3), { code: ErrorCodes.USAGE, message: /no node "master3"/ });
  t.equal(stack.history, run.history, "the run's history");
  t.equal(stack.config, SETTINGS);
  t.equal(stack.system, 'icinga');
});

t.test('a stack without simulated endpoints says so instead of handing out a swarm', async (t) => {
  const { stack } = await fakeStack(t);
  t.equal(stack.hasSwarm, false);
  t.throws(() => stack.swarm, { code: ErrorCodes.USAGE, message: /withSimulatedEndpoints\(n\)/ });
  t.same(stack.clients(), { connected: 0, total: 0, label: 'endpoints' });
  t.equal(stack.reconnectClients('master1'), 0);
});

t.test('a proxied node has its proxy; an unproxied one is a usage error', async (t) => {
  const bare = await fakeStack(t);
  t.throws(() => bare.stack.proxy('master1'), {
    code: ErrorCodes.USAGE,
    message: 'No proxy in front of master1: start the stack with .proxied(name).',
  });
  const { proxy, calls } = fakeProxy('master2');
  const { stack } = await fakeStack(t, { proxies: [proxy] });
  t.equal(stack.proxy('master2'), proxy);
  t.equal(stack.proxyFor('master2'), proxy);
  t.equal(stack.proxyFor('master1'), undefined);
  t.throws(() => stack.proxy('master1'), {
    code: ErrorCodes.USAGE,
    message: 'No proxy in front of master1: proxied nodes are master2.',
  });
  t.same(calls, [], 'the stack only holds it: IcingaStack.start pointed it at its node');
});

t.test('the connection a handshake failure names: the swarm by its port, the log by its peer', async (t) => {
  const { stack } = await fakeStack(t);
  const event = (fields: Partial<HistoryEvent>) => ({ t: 0, at: '', source: '', type: '', ...fields });
  t.same(
    stack.connectionIn(
      event({ source: 'swarm', type: 'handshake-failed', master: 'master2', localPort: 41_234 }),
    ),
    { node: 'master2', port: 41_234 },
  );
  t.equal(
    stack.connectionIn(event({ source: 'swarm', type: 'handshake-failed', master: 'master2' })),
    undefined,
    'no port, no connection',
  );
  const line =
    '[2026-11-21 10:00:01 +0000] critical/ApiListener: Client TLS handshake failed (from [::ffff:172.20.0.7]:40022): excessive message size';
  t.same(
    stack.connectionIn(
      event({ source: 'observe', type: 'log-match', kind: 'tls-handshake-failed', node: 'master1', line }),
    ),
    { node: 'master1', address: '172.20.0.7', port: 40_022 },
  );
  t.equal(
    stack.connectionIn(
      event({
        source: 'observe',
        type: 'log-match',
        kind: 'tls-handshake-failed',
        node: 'master1',
        line: 'critical/ApiListener: TLS handshake failed',
      }),
    ),
    undefined,
    'a line without a peer names none',
  );
  t.equal(
    stack.connectionIn(
      event({ source: 'observe', type: 'log-match', kind: 'critical-log', node: 'master1', line }),
    ),
    undefined,
    'nor does a log match of another kind',
  );
});

t.test('missing connections: the disconnected ones first, the full list once there are none', async (t) => {
  const { stack, master1, master2, everyone } = await fakeStack(t, { agents: 2, simulated: ['sim-1'] });
  master1.seesAll(everyone);
  master2.seesAll(everyone);
  master1.seen.set('agent-2', false);
  t.same(await stack.missingConnections(), ['master1 does not see agent-2']);
  t.same(master1.asked, [true], 'a disconnected endpoint is found by the small question alone');
  t.same(master2.asked, [true]);

  master1.seen.set('agent-2', true);
  master2.seen.delete('agent-1'); // not known to master2 at all: only the full list shows it
  t.same(await stack.missingConnections(), ['master2 does not see agent-1']);
  t.same(master2.asked, [true, true, false], 'confirmed with the full list');

  master2.seesAll(everyone);
  master1.apiError = new Error('connect ECONNREFUSED 10.9.0.5:5665\n    at TCPConnectWrap');
  t.same(await stack.missingConnections(), [
    'master1 API not answering (connect ECONNREFUSED 10.9.0.5:5665)',
  ]);

  master1.apiError = undefined;
  t.same(await stack.missingConnections(), [], 'the simulated endpoints do not count without a swarm');
});

t.test('ready() resolves once every master sees every endpoint, not before', async (t) => {
  const { stack, master1, master2, everyone } = await fakeStack(t);
  master1.seesAll(everyone);
  let settled = false;
  const ready = stack.ready({ timeoutMs: 10_000, pollMs: 5 }).finally(() => {
    settled = true;
  });
  await eventually('three looks', () => master2.asked.length >= 3);
  t.equal(settled, false, 'still waiting while master2 misses the others');
  master2.seesAll(everyone);
  const { ms } = await within(5_000, ready);
  t.type(ms, 'number');
  t.same(await stack.missingConnections(), []);
});

t.test('ready() past its deadline names what is missing', async (t) => {
  const { stack, master1, master2, run } = await fakeStack(t, { agents: 3 });
  const error = await stack.ready({ timeoutMs: 0 }).catch((e: unknown) => e);
  const missing = [
    'master1 does not see master2',
    'master1 does not see agent-1',
    'master1 does not see agent-2',
    'master1 does not see agent-3',
    'master2 does not see master1',
    'master2 does not see agent-1',
    'master2 does not see agent-2',
    'master2 does not see agent-3',
  ];
  t.match(error, { code: ErrorCodes.STACK_NOT_READY, details: { missing } });
  t.equal(
    (error as Error).message,
    `Stack not ready after 0 s: ${missing.slice(0, 6).join('; ')}; and 2 more. Logs: ${run.path('logs')}`,
  );
  t.same(
    [master1.asked, master2.asked],
    [
      [true, false],
      [true, false],
    ],
    'one look (nothing reported disconnected, then the full list), however little time there was',
  );

  master1.seen.set('master2', true).set('agent-1', true).set('agent-2', true).set('agent-3', true);
  master2.seen.set('master1', true).set('agent-1', true).set('agent-2', true);
  await t.rejects(stack.ready({ timeoutMs: 30, pollMs: 5 }), {
    code: ErrorCodes.STACK_NOT_READY,
    message: /^Stack not ready after 0 s: master2 does not see agent-3\. Logs: /,
    details: { missing: ['master2 does not see agent-3'] },
  });
});

t.test('ready() stops on the set-up signal, or on its own', async (t) => {
  const early = await fakeStack(t, { signal: AbortSignal.abort('interrupted') });
  t.equal(
    await early.stack.ready().catch((reason: unknown) => reason),
    'interrupted',
    'rejects with the reason',
  );
  t.same(early.master1.asked, [], 'without asking the API');

  const setUp = new AbortController();
  const { stack, master1 } = await fakeStack(t, { signal: setUp.signal });
  // A minute between looks: only the signal ends this wait within the test's deadline.
  const waiting = stack.ready({ pollMs: 60_000 });
  await eventually('the first look', () => master1.asked.length > 0);
  setUp.abort('SIGINT');
  // Cut short in its pause between looks: the pause's AbortError, carrying the reason.
  await t.rejects(within(5_000, waiting), { name: 'AbortError', cause: 'SIGINT' });

  const own = new AbortController();
  const mine = stack.ready({ pollMs: 60_000, signal: own.signal });
  own.abort('stop');
  await t.rejects(
    within(5_000, mine),
    { name: 'AbortError', cause: 'stop' },
    'its own signal over the aborted set-up one',
  );
});

t.test('reconnected() without a swarm is ready() with the deadline it was given', async (t) => {
  const { stack, master1, master2, everyone } = await fakeStack(t);
  master1.seesAll(everyone);
  await t.rejects(stack.reconnected([{ master: 'master1', since: performance.now() }], { timeoutMs: 0 }), {
    code: ErrorCodes.STACK_NOT_READY,
    details: { missing: ['master2 does not see master1', 'master2 does not see agent-1'] },
  });
  master2.seesAll(everyone);
  const { ms } = await stack.reconnected([{ master: 'master2', since: performance.now() }], {
    timeoutMs: 1_000,
  });
  t.type(ms, 'number');
});

t.test('stop() removes every node and proxy once, records it, and leaves the run', async (t) => {
  const { proxy, calls } = fakeProxy('master1');
  const { stack, nodes, run, removed } = await fakeStack(t, { agents: 2, proxies: [proxy] });
  const events: HistoryEvent[] = [];
  run.history.subscribe((event) => events.push(event));
  const stopped = await stack.stop();
  t.ok(stopped instanceof StoppedIcingaStack);
  t.equal(stopped.run, run);
  t.same([...stopped.removedNodes].sort(), ['agent-1', 'agent-2', 'master1', 'master2']);
  t.same(
    [...nodes.values()].map((node) => node.stopped),
    [1, 1, 1, 1],
  );
  t.same(calls, ['close']);
  t.same(removed, ['hh-net-1'], 'its network removed (a failure to is no failure of stop)');
  t.same(
    events.map((e) => [e.source, e.type, [...(e.nodes as string[])].sort()]),
    [['stack', 'stack-stopped', ['agent-1', 'agent-2', 'master1', 'master2']]],
  );
  t.equal(await stack.stop(), stopped, 'a second stop is the first');
  await stack[Symbol.asyncDispose]();
  t.same(
    [...nodes.values()].map((node) => node.stopped),
    [1, 1, 1, 1],
    'nothing stopped twice',
  );
  t.equal(events.length, 1);
});

t.test('describeNodes() tells the versions the first master prints, the image and the engine', async (t) => {
  const { stack, master1, nodes } = await fakeStack(t);
  const { docker } = fakeDocker();
  t.same(await stack.describeNodes(docker), {
    imageId: 'sha256:abc',
    version: '2.14.2',
    description: master1.banner.trim(),
    icingaVersion: '2.14.2',
    opensslVersion: '3.0.17',
    icingaVersionText: master1.banner,
    dockerVersion: '28.1.1',
    nodes: [...nodes.values()].map((node) => ({ name: node.name, role: node.role, address: node.address })),
  });
  const broken = {
    getImage: () => ({ inspect: async () => Promise.reject(new Error('gone')) }),
    version: async () => Promise.reject(new Error('engine down')),
  } as unknown as Docker;
  master1.container.exec = async () => Promise.reject(new Error('container stopped'));
  const { nodes: _, ...described } = await stack.describeNodes(broken);
  t.same(
    described,
    {
      imageId: undefined,
      version: undefined,
      description: '',
      icingaVersion: undefined,
      opensslVersion: undefined,
      icingaVersionText: '',
      dockerVersion: undefined,
    },
    'what cannot be asked is left out, never a failure',
  );
});
