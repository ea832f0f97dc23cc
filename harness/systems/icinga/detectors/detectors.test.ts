import { readdir } from 'node:fs/promises';
import t from 'tap';
import { knownDetectors } from '../../../cli/systems.ts';
import { DetectorChain } from '../../../observe/detection.ts';
import { chooseDetectors } from '../../../observe/detector-registry.ts';
import { IncidentLedger, type IncidentSignal } from '../../../observe/incidents.ts';
import type { HistoryEvent } from '../../../run/history.ts';
import { icingaDetectors } from './index.ts';

let clock = 0;
function event(
  source: string,
  type: string,
  fields: Record<string, unknown> = {},
  at?: number,
): HistoryEvent {
  clock += 100;
  const t = at ?? clock;
  return { t, at: new Date(Date.UTC(2026, 10, 21, 10) + t).toISOString(), source, type, ...fields };
}

async function run(events: HistoryEvent[], names?: string[]) {
  const ledger = new IncidentLedger();
  const signals: IncidentSignal[] = [];
  const chain = new DetectorChain(chooseDetectors(knownDetectors, names), (signal) => {
    signals.push(signal);
    ledger.apply(signal);
  });
  for (const e of events) chain.feed(e);
  return { incidents: ledger.list(), signals, ledger };
}

const FIELD_LINE =
  '[2026-11-21 10:00:01 +0000] critical/ApiListener: Client TLS handshake failed (from [::ffff:172.20.0.1]:55460): excessive message size';

t.test("every file in Icinga's detectors/ is in its list; an unknown name lists the known", async (t) => {
  const names = icingaDetectors.map((detector) => detector.name);
  t.same(names.sort(), ['field-signature', 'log-lines', 'reload-outcomes', 'swarm-handshakes', 'workers']);
  const files = (await readdir(import.meta.dirname))
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts') && file !== 'index.ts')
    .map((file) => file.replace(/\.ts$/, ''));
  t.same(files.sort(), names, 'each file in detectors/ is in the list');
  t.throws(() => chooseDetectors(icingaDetectors, ['log-lines', 'nope']), {
    code: 'HH_USAGE',
    message:
      /Unknown detector "nope"\. Known: field-signature, log-lines, reload-outcomes, swarm-handshakes, workers\./,
  });
  t.same(chooseDetectors(icingaDetectors, []), [], 'none is a valid choice');
  t.same(chooseDetectors(icingaDetectors), icingaDetectors, 'no list: every one of the system');
});

t.test(
  'the field line is one tls-handshake-failed incident per master, with the excerpt completed later',
  async (t) => {
    const { incidents, ledger } = await run([
      event('observe', 'log-match', { node: 'master1', seq: 10, line: FIELD_LINE, before: ['a', 'b'] }),
      event('observe', 'log-match', { node: 'master1', seq: 11, line: FIELD_LINE.replace('55460', '55461') }),
      event('observe', 'log-match', {
        node: 'master2',
        seq: 4,
        line: `${FIELD_LINE} (SSL routines)`,
        before: [],
      }),
      event('observe', 'log-context', { node: 'master1', seq: 10, after: ['c'] }),
    ]);
    t.equal(incidents.length, 2);
    const [m1, m2] = incidents;
    t.match(m1, {
      kind: 'tls-handshake-failed',
      node: 'master1',
      count: 2,
      peers: ['172.20.0.1'],
      reasons: ['excessive message size'],
    });
    t.match(m2, { kind: 'tls-handshake-failed', node: 'master2', count: 1 });
    t.equal(
      m1 && ledger.evidenceOf(m1, 'log-master1.txt'),
      `  a\n  b\n> ${FIELD_LINE}\n  c\n`,
      'neighbours before and after',
    );
  },
);

t.test('the client role of the same failure ("to") is the same incident', async (t) => {
  const to = FIELD_LINE.replace('(from [::ffff:172.20.0.1]:55460)', '(to [172.20.0.3]:5665)');
  const { incidents } = await run([
    event('observe', 'log-match', { node: 'master2', seq: 1, line: FIELD_LINE }),
    event('observe', 'log-match', { node: 'master2', seq: 2, line: to }),
  ]);
  t.equal(incidents.length, 1);
  t.same(incidents[0]?.peers, ['172.20.0.1', '172.20.0.3']);
});

t.test('what a reload explains is not an incident; the same outside a reload is', async (t) => {
  const refused =
    "[2026-11-21 10:00:01 +0000] critical/ApiListener: Cannot connect to host 'master2' on port '5665': Connection refused";
  const truncated = FIELD_LINE.replace('excessive message size', 'stream truncated');
  const timeout =
    "[2026-11-21 10:00:16 +0000] critical/ApiListener: Timeout while reconnecting to endpoint 'master2' via host 'master2' and port '5665', cancelling attempt";
  const gone =
    "[2026-11-21 10:00:16 +0000] critical/ApiListener: Error while syncing endpoint 'sim-15': Error: Cannot send message to already disconnected API client 'sim-15'!";
  const during = await run([
    event('reload', 'reload-started', { master: 'master2' }, 1000),
    event('observe', 'log-match', { node: 'master1', seq: 1, line: refused }, 1500),
    event('observe', 'log-match', { node: 'master1', seq: 4, line: timeout }, 1900),
    event('observe', 'log-match', { node: 'master2', seq: 5, line: gone }, 1950),
    event('reload', 'reload-finished', { master: 'master2', newPid: 9 }, 2000),
    event('observe', 'log-match', { node: 'master1', seq: 2, line: truncated }, 12_000),
    event('observe', 'log-match', { node: 'master1', seq: 3, line: FIELD_LINE }, 12_100),
  ]);
  t.same(
    during.incidents.map((i) => `${i.kind}:${i.reasons.join()}`),
    ['tls-handshake-failed:excessive message size'],
    'a refused connect and a truncated handshake near a reload are expected; excessive message size never is',
  );
  const steady = await run([
    event('observe', 'log-match', { node: 'master1', seq: 1, line: refused }, 100_000),
    event('observe', 'log-match', { node: 'master1', seq: 2, line: truncated }, 100_100),
    event('observe', 'log-match', { node: 'master1', seq: 3, line: timeout }, 100_200),
  ]);
  t.same(steady.incidents.map((i) => i.kind).sort(), [
    'critical-log',
    'critical-log',
    'tls-handshake-failed',
  ]);
});

t.test(
  'the swarm: TLS errors join the master incident; handshakes a reload cuts short are expected',
  async (t) => {
    const { incidents } = await run([
      event(
        'swarm',
        'handshake-failed',
        {
          master: 'master1',
          endpoint: 'sim-7',
          code: 'ERR_SSL_SSLV3_ALERT_ILLEGAL_PARAMETER',
          error: 'C0:error:0A00042F:SSL routines:ssl3_read_bytes:sslv3 alert illegal parameter',
        },
        1000,
      ),
      event('reload', 'reload-started', { master: 'master1' }, 2000),
      event(
        'swarm',
        'handshake-failed',
        { master: 'master1', endpoint: 'sim-3', code: 'ECONNRESET', error: 'read ECONNRESET' },
        2100,
      ),
      event('reload', 'reload-finished', { master: 'master1' }, 2500),
      event(
        'swarm',
        'handshake-failed',
        {
          master: 'master1',
          endpoint: 'sim-4',
          error: 'Client network socket disconnected before secure TLS connection was established',
          code: 'ECONNRESET',
        },
        3000,
      ),
      event(
        'swarm',
        'handshake-failed',
        { master: 'master1', endpoint: 'sim-5', code: 'ECONNRESET', error: 'read ECONNRESET' },
        60_000,
      ),
    ]);
    t.same(
      incidents.map((i) => [i.kind, i.clients]),
      [
        ['tls-handshake-failed', ['sim-7']],
        ['handshake-interrupted', ['sim-5']],
      ],
    );
  },
);

t.test('the storm: failed reloads, a master gone once however often, endpoints not back', async (t) => {
  const { incidents } = await run([
    event('reload', 'reload-failed', {
      master: 'master1',
      step: 1,
      error: 'config invalid\nline 2',
      masterDown: false,
    }),
    event('reload', 'reload-failed', { master: 'master2', step: 2, error: 'gone', masterDown: true }),
    event('reload', 'reload-failed', { master: 'master2', step: 3, error: 'gone', masterDown: true }),
    event('reload', 'reconnect-timeout', {
      step: 3,
      deadlineMs: 30_000,
      missing: ['master1 does not see sim-4'],
    }),
  ]);
  t.same(
    incidents.map((i) => `${i.kind}@${i.node ?? '-'}x${i.count}`),
    ['reload-failed@master1x1', 'master-down@master2x2', 'reconnect-timeout@-x1'],
  );
  t.same(incidents[2]?.evidence, ['missing-step-3.txt']);
});

t.test(
  'workers: a pid change without a reload, silence outside a reload; not what a reload does',
  async (t) => {
    const { incidents } = await run([
      event('observe', 'worker-seen', { master: 'master1', pid: 10, askedT: 0 }, 10),
      event('reload', 'reload-started', { master: 'master1' }, 100),
      event('observe', 'worker-seen', { master: 'master1', pid: 11, askedT: 150 }, 160),
      event('observe', 'worker-silent', { master: 'master1', sinceT: 120, containerRunning: true }, 3200),
      event('reload', 'reload-finished', { master: 'master1', newPid: 11 }, 3300),
      event('observe', 'worker-seen', { master: 'master1', pid: 12, askedT: 5000 }, 5010),
      event('observe', 'worker-silent', { master: 'master2', sinceT: 6000, containerRunning: false }, 9000),
    ]);
    t.same(
      incidents.map((i) => `${i.kind}@${i.node}`),
      ['worker-replaced@master1', 'master-down@master2'],
    );
  },
);

t.test('a container gone inside a context swap is master-down; inside a restart it is not', async (t) => {
  const swapping = await run([
    event('observe', 'disruption-started', { node: 'master2', kind: 'context-swap' }, 100),
    event('observe', 'worker-silent', { master: 'master2', sinceT: 120, containerRunning: false }, 3200),
  ]);
  t.same(
    swapping.incidents.map((i) => `${i.kind}@${i.node}`),
    ['master-down@master2'],
  );
  const hung = await run([
    event('observe', 'worker-seen', { master: 'master2', pid: 10, askedT: 0 }, 10),
    event('observe', 'disruption-started', { node: 'master2', kind: 'context-swap' }, 100),
    event('observe', 'disruption-ended', { node: 'master2', kind: 'context-swap' }, 100),
    event(
      'observe',
      'worker-silent',
      { master: 'master2', sinceT: 50, askedT: 3000, containerRunning: true },
      3200,
    ),
  ]);
  t.same(
    hung.incidents.map((i) => `${i.kind}@${i.node}`),
    ['worker-down@master2'],
    'a worker silent for seconds among swaps is down (a swap is over in an instant)',
  );
  const restarting = await run([
    event('remedy', 'disruption-started', { node: 'master2', kind: 'restart', incident: 1 }, 100),
    event('observe', 'worker-silent', { master: 'master2', sinceT: 120, containerRunning: false }, 3200),
  ]);
  t.same(restarting.incidents, []);
});

t.test("a remedy's reload outside a storm: its new worker is the harness's doing, no incident", async (t) => {
  const reload = [
    event('observe', 'worker-seen', { master: 'master1', pid: 10, askedT: 0 }, 10),
    event('remedy', 'disruption-started', { node: 'master1', kind: 'reload', incident: 1 }, 100),
    event('remedy', 'disruption-ended', { node: 'master1', kind: 'reload', recovered: true }, 1500),
    event('observe', 'worker-seen', { master: 'master1', pid: 11, askedT: 4500 }, 4510),
  ];
  t.same((await run(reload, ['workers'])).incidents, []);
  // Without the window the same new worker is one nobody asked for.
  t.same(
    (await run([reload[0], reload[3]] as typeof reload, ['workers'])).incidents.map((i) => i.kind),
    ['worker-replaced'],
  );
});

t.test(
  'a remedy restart is a disruption window: its new worker and its silence open no incident',
  async (t) => {
    const restart = (withWindow: boolean) => [
      event('observe', 'worker-seen', { master: 'master1', pid: 10, askedT: 0 }, 10),
      ...(withWindow
        ? [event('remedy', 'disruption-started', { node: 'master1', kind: 'restart', incident: 1 }, 100)]
        : []),
      event('observe', 'worker-silent', { master: 'master1', sinceT: 150, containerRunning: true }, 3200),
      ...(withWindow
        ? [event('remedy', 'disruption-ended', { node: 'master1', kind: 'restart', recovered: true }, 4000)]
        : []),
      event('observe', 'worker-seen', { master: 'master1', pid: 77, askedT: 4500 }, 4510),
    ];
    t.same((await run(restart(true), ['workers'])).incidents, [], 'the remedy is the harness’s own doing');
    t.same(
      (await run(restart(false), ['workers'])).incidents.map((i) => i.kind),
      ['worker-down', 'worker-replaced'],
      'the same without its window is two faults',
    );
  },
);

t.test(
  'handshakes cut short inside any disruption window are expected, outside one an incident',
  async (t) => {
    const cut = (at: number) =>
      event(
        'swarm',
        'handshake-failed',
        {
          master: 'master1',
          endpoint: 'sim-1',
          code: 'ECONNRESET',
          error: 'socket hang up',
        },
        at,
      );
    const inside = await run(
      [event('nemesis', 'disruption-started', { node: 'master1', kind: 'pause' }, 100), cut(200)],
      ['swarm-handshakes'],
    );
    t.same(inside.incidents, []);
    const outside = await run([cut(200)], ['swarm-handshakes']);
    t.same(
      outside.incidents.map((i) => i.kind),
      ['handshake-interrupted'],
    );
  },
);

t.test("reactors' evidence and findings attach to the incident they name", async (t) => {
  const { incidents, ledger } = await run([
    event('observe', 'log-match', { node: 'master1', seq: 1, line: FIELD_LINE }),
    event('incidents', 'incident-opened', { incident: 1 }),
    event('observe', 'incident-evidence', { incident: 1, name: 'api-master1.json', content: '{}\n' }),
    event('observe', 'incident-finding', {
      incident: 1,
      findings: { persistence: { state: 'master-healthy' } },
    }),
  ]);
  t.match(incidents[0], {
    count: 1,
    evidence: ['api-master1.json'],
    findings: { persistence: { state: 'master-healthy' } },
  });
  const [first] = incidents;
  t.equal(first && ledger.evidenceOf(first, 'api-master1.json'), '{}\n');
});

t.test('detection is deterministic: the same events give the same incidents', async (t) => {
  const events = [
    event('observe', 'log-match', { node: 'master1', seq: 1, line: FIELD_LINE, before: [] }),
    event('swarm', 'handshake-failed', {
      master: 'master2',
      endpoint: 'sim-1',
      code: 'ERR_SSL_X',
      error: 'x:y:z:SSL routines:f:alert',
    }),
    event('reload', 'reload-failed', { master: 'master1', step: 1, error: 'e' }),
  ];
  const first = (await run(events)).incidents;
  t.same(
    first.map((incident) => `${incident.kind}@${incident.node}`),
    ['tls-handshake-failed@master1', 'tls-handshake-failed@master2', 'reload-failed@master1'],
    'what these events show',
  );
  // A second pass over copies of the events (so no detector can lean on state the first left
  // behind, or on the objects it saw) finds exactly the same, field by field.
  t.same((await run(structuredClone(events))).incidents, first);
});
