import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createServer, type TLSSocket } from 'node:tls';
import t from 'tap';
import { History, type HistoryEvent } from '../../run/history.ts';
import { eventually } from '../../test-kits/eventually.ts';
import { listenOnFixedPort, randomLoopbackHost, type Teardown } from '../../test-kits/loopback.ts';
import { type TlsPeers, tlsPeers } from '../../test-kits/tls.ts';
import { IncidentReactions, type PersistenceOptions } from './incident-reactions.ts';
import { API_PORT } from './stack/icinga-config.ts';
import type { StartedIcingaStack } from './stack/icinga-stack.ts';

const peers = await tlsPeers();

/**
 * An Icinga master's API port as the probe meets it: it demands a client certificate from the
 * stack's CA, and either keeps the connection ('accept') or drops it right after the handshake
 * ('refuse', the field symptom). `clients` are the CNs it saw.
 */
async function tlsMaster(t: Teardown, ca: TlsPeers) {
  const state = { mode: 'refuse' as 'accept' | 'refuse', clients: [] as string[] };
  const server = createServer({
    key: ca.server.privateKeyPem,
    cert: ca.server.certificatePem,
    ca: ca.ca.certificatePem,
    requestCert: true,
    rejectUnauthorized: true,
  });
  server.on('tlsClientError', () => undefined);
  server.on('secureConnection', (socket: TLSSocket) => {
    socket.on('error', () => undefined);
    state.clients.push(String(socket.getPeerCertificate().subject?.CN));
    if (state.mode === 'refuse') socket.end();
  });
  return { host: (await listenOnFixedPort(t, server, API_PORT)).host, state };
}

interface FakeMaster {
  name: string;
  address: string;
  restarts: number;
  execs: string[][];
  api: { apiListener(): Promise<unknown> };
  log: { path: string; since(seq: number): Array<{ text: string }> };
  exec(command: string[]): Promise<{ exitCode: number; output: string }>;
  /** Signals sent to the node (the reload remedy's SIGHUP). */
  kill(signal: string): Promise<void>;
  signals: string[];
  container: { restart(): Promise<void> };
}

/** Only what the reactions call on a master: its name, address, API, log, exec and container restart. */
function fakeMaster(
  dir: string,
  overrides: Partial<Omit<FakeMaster, 'restarts' | 'execs' | 'container' | 'signals' | 'kill'>> & {
    restart?: () => Promise<void>;
    reload?: () => Promise<void>;
    logLines?: string[];
  } = {},
): FakeMaster {
  const { restart, reload, logLines = [], ...rest } = overrides;
  const master: FakeMaster = {
    name: 'master1',
    address: randomLoopbackHost(),
    restarts: 0,
    execs: [],
    signals: [],
    kill: async (signal) => {
      master.signals.push(signal);
      if (signal === 'SIGHUP') await reload?.();
    },
    api: { apiListener: async () => ({ num_conn_endpoints: 3, num_endpoints: 4 }) },
    log: { path: join(dir, 'log', 'icinga2.log'), since: () => logLines.map((text) => ({ text })) },
    exec: async (command) => {
      master.execs.push(command);
      return { exitCode: 0, output: `  PID  PPID STAT     ELAPSED   RSS ARGS\n` };
    },
    container: {
      restart: async () => {
        master.restarts++;
        await restart?.();
      },
    },
    ...rest,
  };
  return master;
}

async function reactionsOn(
  t: Teardown & { testdirName: string },
  masters: FakeMaster[],
  persistence?: PersistenceOptions,
) {
  // testdirName, not testdir(): a second testdir() call would empty the folder the test filled.
  const history = await History.open(join(t.testdirName, 'history.jsonl'));
  const stack = { history, masters, ca: peers.ca } as unknown as StartedIcingaStack;
  const reactions = new IncidentReactions(stack, persistence);
  t.teardown(async () => {
    await reactions.stop();
    await history.close();
  });
  const events = (type: string, source?: string): HistoryEvent[] =>
    history.recent().filter((event) => event.type === type && (!source || event.source === source));
  const open = (incident: number, kind: string, node = 'master1') =>
    history.record('incidents', 'incident-opened', { incident, kind, node });
  const persistenceOf = (incident: number) =>
    events('incident-finding').find(
      (event) => event.incident === incident && (event.findings as { persistence?: unknown }).persistence,
    )?.findings as { persistence: Record<string, unknown> } | undefined;
  return { history, reactions, events, open, persistenceOf };
}

t.test(
  'an incident on a master gets its ApiListener status as evidence, named after the master',
  async (t) => {
    const master = fakeMaster(t.testdir());
    const { reactions, events, open } = await reactionsOn(t, [master]);
    reactions.start();
    open(4, 'tls-handshake-failed');
    const evidence = await eventually('the snapshot', () => events('incident-evidence')[0]);
    t.match(evidence, {
      source: 'observe',
      incident: 4,
      name: 'api-master1.json',
      content: `${JSON.stringify({ num_conn_endpoints: 3, num_endpoints: 4 }, null, 2)}\n`,
    });
    await reactions.stop();
    t.equal(events('incident-evidence').length, 1, 'a TLS failure leaves no crash evidence');
    t.equal(events('probe').length, 0, 'no persistence options: no probe');
  },
);

t.test('an API that does not answer leaves its error as the snapshot', async (t) => {
  const master = fakeMaster(t.testdir(), {
    api: { apiListener: () => Promise.reject(new Error('connect ECONNREFUSED 172.20.0.2:5665')) },
  });
  const { reactions, events, open } = await reactionsOn(t, [master]);
  reactions.start();
  open(1, 'tls-handshake-failed');
  const evidence = await eventually('the snapshot', () => events('incident-evidence')[0]);
  t.equal(evidence.content, '{\n  "error": "connect ECONNREFUSED 172.20.0.2:5665"\n}\n');
});

t.test(
  'incidents opened before start count; other events, unknown nodes and those after stop do not',
  async (t) => {
    const master = fakeMaster(t.testdir());
    const { history, reactions, events, open } = await reactionsOn(t, [master]);
    // Before start: the swarm connects early, so incidents can open before the reactions run.
    open(1, 'tls-handshake-failed');
    open(2, 'tls-handshake-failed', 'agent-1');
    history.record('observe', 'incident-opened', { incident: 3, kind: 'crash', node: 'master1' });
    history.record('incidents', 'incident-updated', { incident: 1, kind: 'crash', node: 'master1' });
    history.record('incidents', 'incident-opened', { incident: '5', kind: 'crash', node: 'master1' });
    history.record('incidents', 'incident-opened', { incident: 6, kind: 'crash' });
    reactions.start();
    open(7, 'tls-handshake-failed');
    // stop() waits for every reaction under way, so what follows is all there will be.
    await reactions.stop();
    open(8, 'tls-handshake-failed');
    t.same(
      events('incident-evidence').map((event) => event.incident),
      [1, 7],
    );
  },
);

t.test('a crash leaves the last 50 log lines, up to five crash reports and the ps table', async (t) => {
  const dir = t.testdir();
  const crashDir = join(dir, 'log', 'crash');
  await mkdir(crashDir, { recursive: true });
  const report = Array.from({ length: 100 }, (_, i) => `frame ${i}`).join('\n');
  for (let i = 1; i <= 7; i++) await writeFile(join(crashDir, `report-${i}`), report);
  const table =
    '  PID  PPID STAT     ELAPSED   RSS ARGS\n    1     0 Ss       01:00  9000 icinga2 daemon\n   42     1 Sl       00:59 90000 icinga2 daemon';
  const master = fakeMaster(dir, {
    logLines: Array.from({ length: 70 }, (_, i) => `line ${i}`),
    exec: async (command) => {
      master.execs.push(command);
      return { exitCode: 0, output: `${table}\n` };
    },
  });
  const { reactions, events, open } = await reactionsOn(t, [master]);
  reactions.start();
  open(2, 'crash');
  const crash = await eventually('the crash evidence', () =>
    events('incident-evidence').find((event) => event.name === 'crash-master1.txt'),
  );
  const content = String(crash.content);
  const hang = 'alive: 2 icinga2 processes, silent (a hang, not a crash)';
  t.match(content, `Last 50 log lines of master1:\nline 20\n`);
  t.match(content, 'line 69\n\n');
  t.notMatch(content, 'line 19\n', 'older lines are left out');
  t.match(content, `Icinga crash reports (${crashDir}): \n== report-`);
  t.equal(content.match(/^== report-\d$/gm)?.length, 5, 'five reports of seven');
  t.equal(content.match(/^frame \d+$/gm)?.length, 5 * 60, 'the first 60 lines of each');
  t.notMatch(content, /^frame 60$/m);
  t.match(content, 'Kernel lines about icinga2 on this host since the run began (dmesg):\n');
  t.match(content, `icinga2 processes in the container now (${hang}):\n${table.trim()}\n`);
  t.same(master.execs, [['ps', '-C', 'icinga2', '-o', 'pid,ppid,stat,etime,rss,args']]);
  const finding = events('incident-finding').find((event) => event.incident === 2);
  t.same(finding?.findings, { daemon: hang });
});

t.test('what is left of a master gone silent: no process, the umbrella alone, or no container', async (t) => {
  const dir = t.testdir();
  const header = '  PID  PPID STAT     ELAPSED   RSS ARGS';
  const master = (name: string, ps: () => Promise<{ exitCode: number; output: string }>) =>
    fakeMaster(dir, { name, exec: ps });
  const masters = [
    master('master1', async () => ({ exitCode: 1, output: `${header}\n` })),
    master('master2', async () => ({
      exitCode: 0,
      output: `${header}\n    1     0 Ss   01:00  9000 icinga2 daemon\n`,
    })),
    master('master3', () => Promise.reject(new Error('container 3f2a is not running'))),
    master('master4', async () => ({ exitCode: 126, output: 'OCI runtime exec failed\n' })),
  ];
  const { reactions, events, open } = await reactionsOn(t, masters);
  reactions.start();
  open(1, 'master-down', 'master1');
  open(2, 'worker-down', 'master2');
  open(3, 'crash', 'master3');
  open(4, 'crash', 'master4');
  const daemon = (incident: number) =>
    (events('incident-finding').find((event) => event.incident === incident)?.findings as { daemon: string })
      ?.daemon;
  await eventually('four findings', () => [1, 2, 3, 4].every((incident) => daemon(incident)));
  t.equal(daemon(1), 'gone: no icinga2 process');
  t.equal(daemon(2), 'worker gone: the umbrella process alone');
  t.equal(daemon(3), 'container gone', 'an exec the engine refuses');
  t.equal(daemon(4), 'container gone', 'ps did not run: no header');
  const crash3 = events('incident-evidence').find((event) => event.name === 'crash-master3.txt');
  t.match(crash3?.content, '(container gone):\ncontainer 3f2a is not running\n');
  t.match(crash3?.content, 'Last 0 log lines of master3:\n');
  t.match(crash3?.content, /Icinga crash reports \(.*crash\): none\n/);
});

t.test('a master a good client still gets into is healthy: the failing peer is at fault', async (t) => {
  const server = await tlsMaster(t, peers);
  server.state.mode = 'accept';
  const master = fakeMaster(t.testdir(), { address: server.host });
  const { reactions, events, open, persistenceOf } = await reactionsOn(t, [master], {
    probeEveryMs: 50,
    probeForMs: 20_000,
    remedy: 'restart',
  });
  reactions.start();
  open(1, 'tls-handshake-failed');
  const found = await eventually('the persistence finding', () => persistenceOf(1));
  t.same(found.persistence, {
    state: 'master-healthy',
    detail: 'a good client completes the handshake: the failing peer is at fault',
  });
  t.same(
    events('probe').map(({ master, incident, ok, error }) => ({ master, incident, ok, error })),
    [{ master: 'master1', incident: 1, ok: true, error: undefined }],
  );
  t.same(server.state.clients, ['hh-probe-master1'], 'the probe shows a certificate of the stack CA');
  t.equal(master.restarts, 0, 'a healthy master is not restarted');
  t.equal(events('remedy-started').length, 0);
});

t.test('a master that drops every good client past the probe window is persistent', async (t) => {
  const server = await tlsMaster(t, peers);
  const master = fakeMaster(t.testdir(), { address: server.host });
  const { reactions, events, open, persistenceOf } = await reactionsOn(t, [master], {
    probeEveryMs: 50,
    probeForMs: 300,
  });
  reactions.start();
  open(1, 'tls-handshake-failed');
  const found = await eventually('the persistence finding', () => persistenceOf(1));
  // In TLS 1.3 the client is through before the server refuses: the probe must wait and see.
  t.same(found.persistence, { state: 'persistent', probeError: 'closed right after the handshake' });
  const probes = events('probe');
  t.ok(probes.length >= 1);
  t.ok(
    probes.every((probe) => probe.ok === false && probe.error === 'closed right after the handshake'),
    'every probe failed',
  );
  t.equal(master.restarts, 0, 'no remedy asked for: none applied');
  t.equal(events('remedy-started').length, 0);
});

t.test('a master not listening at all: the probe error is the refused connect', async (t) => {
  const master = fakeMaster(t.testdir());
  const { reactions, open, persistenceOf } = await reactionsOn(t, [master], {
    probeEveryMs: 20,
    probeForMs: 100,
  });
  reactions.start();
  open(1, 'tls-handshake-failed');
  const found = await eventually('the persistence finding', () => persistenceOf(1));
  t.match(found.persistence, { state: 'persistent', probeError: /ECONNREFUSED/ });
});

t.test('the restart remedy: a master that takes good clients again after it is recovered', async (t) => {
  const server = await tlsMaster(t, peers);
  const master = fakeMaster(t.testdir(), {
    address: server.host,
    restart: async () => {
      server.state.mode = 'accept';
    },
  });
  const { history, reactions, events, open, persistenceOf } = await reactionsOn(t, [master], {
    probeEveryMs: 50,
    probeForMs: 200,
    remedy: 'restart',
    recoverForMs: 30_000,
  });
  reactions.start();
  open(1, 'tls-handshake-failed');
  const found = await eventually('the persistence finding', () => persistenceOf(1), { timeoutMs: 20_000 });
  const finished = events('remedy-finished')[0];
  t.match(found.persistence, {
    state: 'persistent',
    probeError: 'closed right after the handshake',
    remedy: { action: 'restart', recoveredAfterMs: finished?.ms },
  });
  t.equal(master.restarts, 1);
  // The restart is the harness's own doing: inside a disruption window, so no detector reports it.
  t.same(
    history
      .recent()
      .filter((event) => event.source === 'remedy')
      .map(({ source: _source, t: _t, at: _at, ...fields }) => fields),
    [
      { master: 'master1', incident: 1, action: 'restart', type: 'remedy-started' },
      { node: 'master1', kind: 'restart', incident: 1, type: 'disruption-started' },
      { node: 'master1', kind: 'restart', recovered: true, type: 'disruption-ended' },
      {
        master: 'master1',
        incident: 1,
        action: 'restart',
        recovered: true,
        ms: finished?.ms,
        type: 'remedy-finished',
      },
    ],
  );
  t.type(finished?.ms, 'number');
  t.same(master.signals, [], 'no reload tried: the remedy asked for is a restart');
});

t.test('reload-then-restart: a failure a reload clears is never restarted', async (t) => {
  const server = await tlsMaster(t, peers);
  // The fault lives in the worker: the reload's new worker takes good clients again.
  const master = fakeMaster(t.testdir(), {
    address: server.host,
    reload: async () => {
      server.state.mode = 'accept';
    },
  });
  const { events, reactions, open, persistenceOf } = await reactionsOn(t, [master], {
    probeEveryMs: 50,
    probeForMs: 200,
    remedy: 'reload-then-restart',
    reloadRecoverForMs: 10_000,
  });
  reactions.start();
  open(1, 'tls-handshake-failed');
  const found = await eventually('the persistence finding', () => persistenceOf(1), { timeoutMs: 20_000 });
  const finished = events('remedy-finished');
  t.same(master.signals, ['SIGHUP']);
  t.equal(master.restarts, 0, 'no restart');
  t.match(found.persistence, {
    state: 'persistent',
    remedy: { action: 'reload', recoveredAfterMs: finished[0]?.ms },
    detail: /^a reload cleared it after [\d,]+ ms$/,
  });
  t.same(
    events('disruption-started', 'remedy').map((e) => e.kind),
    ['reload'],
    "the reload is the harness's own disruption",
  );
});

t.test('reload-then-restart: a failure the reload leaves is restarted, and says so', async (t) => {
  const server = await tlsMaster(t, peers);
  // The fault outlives the worker (latched in the umbrella): only the restart clears it.
  const master = fakeMaster(t.testdir(), {
    address: server.host,
    restart: async () => {
      server.state.mode = 'accept';
    },
  });
  const { events, reactions, open, persistenceOf } = await reactionsOn(t, [master], {
    probeEveryMs: 50,
    probeForMs: 200,
    remedy: 'reload-then-restart',
    reloadRecoverForMs: 600,
    recoverForMs: 10_000,
  });
  reactions.start();
  open(1, 'tls-handshake-failed');
  const found = await eventually('the persistence finding', () => persistenceOf(1), { timeoutMs: 20_000 });
  const [reload, restart] = events('remedy-finished');
  t.same(master.signals, ['SIGHUP']);
  t.equal(master.restarts, 1);
  t.match(reload, { action: 'reload', recovered: false });
  t.ok(Number(reload?.ms) >= 600, 'the reload was given its time');
  t.match(found.persistence, {
    remedy: {
      action: 'restart',
      recoveredAfterMs: restart?.ms,
      before: { action: 'reload', recovered: false, gaveUpAfterMs: reload?.ms },
    },
    detail: /^a reload did not \(gave up after [\d,]+ ms\); a restart cleared it after [\d,]+ ms$/,
  });
  t.same(
    events('disruption-ended', 'remedy').map((e) => `${e.kind} ${e.recovered}`),
    ['reload false', 'restart true'],
  );
});

t.test('the restart remedy gives up when the master still refuses after recoverForMs', async (t) => {
  const server = await tlsMaster(t, peers);
  // The restart changes nothing: the master keeps dropping good clients.
  const master = fakeMaster(t.testdir(), { address: server.host });
  const recoverForMs = 700;
  const { reactions, events, open, persistenceOf } = await reactionsOn(t, [master], {
    probeEveryMs: 50,
    probeForMs: 200,
    remedy: 'restart',
    recoverForMs,
  });
  reactions.start();
  open(1, 'tls-handshake-failed');
  const found = await eventually('the persistence finding', () => persistenceOf(1), { timeoutMs: 20_000 });
  const remedy = found.persistence.remedy as { action: string; recovered: boolean; gaveUpAfterMs: number };
  t.same(Object.keys(remedy).sort(), ['action', 'gaveUpAfterMs', 'recovered']);
  t.match(remedy, { action: 'restart', recovered: false });
  t.ok(remedy.gaveUpAfterMs >= recoverForMs, `gave up only after its ${recoverForMs} ms`);
  t.equal(found.persistence.state, 'persistent');
  t.equal(master.restarts, 1, 'one restart, not a loop of them');
  t.ok(server.state.clients.length > events('probe').length, 'it kept trying after the restart');
  t.match(events('remedy-finished'), [
    { master: 'master1', incident: 1, recovered: false, ms: remedy.gaveUpAfterMs },
  ]);
  t.match(events('disruption-ended', 'remedy'), [{ node: 'master1', kind: 'restart', recovered: false }]);
  t.equal(events('disruption-ended', 'remedy').length, 1, 'the window is closed once');
});

t.test(
  'a restart the engine refuses is a remedy that failed, and the master is probed again later',
  async (t) => {
    const server = await tlsMaster(t, peers);
    const master = fakeMaster(t.testdir(), {
      address: server.host,
      restart: () => Promise.reject(new Error('container 3f2a is not running')),
    });
    const { reactions, events, open, persistenceOf } = await reactionsOn(t, [master], {
      probeEveryMs: 50,
      probeForMs: 150,
      remedy: 'restart',
      recoverForMs: 10_000,
    });
    reactions.start();
    open(1, 'tls-handshake-failed');
    const found = await eventually('the persistence finding', () => persistenceOf(1));
    t.match(found.persistence, {
      state: 'persistent',
      remedy: { action: 'restart', recovered: false, error: 'container 3f2a is not running' },
    });
    t.match(events('remedy-finished'), [{ recovered: false, error: 'container 3f2a is not running' }]);
    t.match(events('disruption-ended', 'remedy'), [{ node: 'master1', recovered: false }]);
    open(2, 'tls-handshake-failed');
    await eventually('the second incident probed', () => persistenceOf(2));
    t.equal(master.restarts, 2);
  },
);

t.test('one probe per master at a time; a TLS incident after it ends is probed again', async (t) => {
  const server = await tlsMaster(t, peers);
  const master = fakeMaster(t.testdir(), { address: server.host });
  const { reactions, events, open, persistenceOf } = await reactionsOn(t, [master], {
    probeEveryMs: 50,
    probeForMs: 300,
  });
  reactions.start();
  open(1, 'tls-handshake-failed');
  open(2, 'tls-handshake-failed');
  await eventually('the first finding', () => persistenceOf(1));
  t.equal(persistenceOf(2), undefined, 'the second incident came while the first was probed');
  t.same([...new Set(events('probe').map((probe) => probe.incident))], [1]);
  open(3, 'tls-handshake-failed');
  await eventually('the third finding', () => persistenceOf(3));
  t.same([...new Set(events('probe').map((probe) => probe.incident))], [1, 3]);
});

t.test('stop() ends a probe under way without its remedy, and waits for it to record', async (t) => {
  const server = await tlsMaster(t, peers);
  const master = fakeMaster(t.testdir(), { address: server.host });
  const { reactions, events, open, persistenceOf } = await reactionsOn(t, [master], {
    probeEveryMs: 50,
    probeForMs: 60_000,
    remedy: 'restart',
  });
  reactions.start();
  open(1, 'tls-handshake-failed');
  await eventually('a first probe', () => events('probe').length > 0);
  await reactions.stop();
  // No wait here: stop() itself waited for the probe to finish.
  t.same(persistenceOf(1)?.persistence, {
    state: 'persistent',
    probeError: 'closed right after the handshake',
  });
  t.equal(master.restarts, 0, 'a stopping run restarts nothing');
  t.equal(events('remedy-started').length, 0);
});
