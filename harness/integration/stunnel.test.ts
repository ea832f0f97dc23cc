import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { ensureEngine } from '../engine/docker-engine.ts';
import type { Incident } from '../observe/incidents.ts';
import { silentProgress } from '../progress.ts';
import { readHistory } from '../run/history-reader.ts';
import { hunt } from './cli.ts';
import { runObjects } from './leftovers.ts';

// stunnel 5.68 at debug 7 behind the real freeze: its log sink stops reading for 20 s. The same
// load with a stalled backend, and with stunnel reloaded every 2 s, are the controls. About a
// minute each.
const { docker } = await ensureEngine(silentProgress);
const results = t.testdir();

async function freeze(cause: string, times = { before: 12_000, stall: 20_000, after: 10_000 }) {
  const result = await hunt([
    'run',
    'stunnel-freeze',
    '--param',
    `cause=${cause}`,
    '--param',
    `before=${times.before}`,
    '--param',
    `stall=${times.stall}`,
    '--param',
    `after=${times.after}`,
    '--results',
    results,
    '--json',
  ]);
  const parsed = JSON.parse(result.stdout || '{}') as { dir?: string; incidents?: Incident[] };
  return { ...result, dir: parsed.dir ?? '', incidents: parsed.incidents ?? [] };
}

/** The controls and the other causes: shorter, the same shape. */
const SHORT = { before: 8_000, stall: 10_000, after: 7_000 };
const of = (incidents: Incident[], kind: string) => incidents.filter((incident) => incident.kind === kind);
const finding = (incident: Incident | undefined, name: string) => Number(incident?.findings[name]);

t.test(
  'a 20 s log-sink stall: one stall and one silence of about 20 s; keep-alive served; a burst after',
  async (t) => {
    const run = await freeze('log-sink');
    t.equal(run.code, 0, `the expectation is met: ${run.stdout.slice(-800)} ${run.stderr.slice(-400)}`);
    const [stall] = of(run.incidents, 'throughput-stall');
    const [silence] = of(run.incidents, 'log-silence');
    t.equal(of(run.incidents, 'throughput-stall').length, 1, 'one stall');
    t.equal(of(run.incidents, 'log-silence').length, 1, 'one silence');
    t.ok(
      finding(stall, 'durationMs') >= 17_000 && finding(stall, 'durationMs') <= 27_000,
      `the stall lasted about 20 s (${finding(stall, 'durationMs')} ms)`,
    );
    t.ok(
      finding(silence, 'durationMs') >= 15_000 && finding(silence, 'durationMs') <= 25_000,
      `the log was silent about 20 s (${finding(silence, 'durationMs')} ms)`,
    );
    t.ok(
      finding(stall, 'keepAliveDuringPerSecond') >= 0.5 * finding(stall, 'keepAliveBeforePerSecond'),
      `keep-alive traffic was still served (${finding(stall, 'keepAliveDuringPerSecond')}/s)`,
    );
    t.ok(finding(stall, 'newConnectionsDuringPerSecond') < 5, 'new connections were not');
    // The requests held through the stall (those younger than the client's 5 s timeout) complete
    // once it ends: the 6 s from its end complete more than the level before gives. Wherever the
    // burst lands: in the first second (99.6/s in the 5 s after it, seen once in CI) or spread
    // over a few on a busy machine (65/s in the first, 156/s over the next 5, seen once).
    t.ok(
      finding(stall, 'burstAfter') > 0.5 * finding(stall, 'newConnectionsBeforePerSecond'),
      `the held requests complete after it (${finding(stall, 'burstAfter')} beyond the level before; first second ${finding(stall, 'firstSecondAfter')}, then ${finding(stall, 'afterPerSecond')}/s)`,
    );
    t.ok(
      finding(silence, 'lateLinesAfter') <= 30,
      `stunnel wrote nothing meanwhile: only the queued lines came late (${finding(silence, 'lateLinesAfter')})`,
    );
    const folder = join(run.dir, 'incidents', String(stall?.id).padStart(3, '0'));
    await t.resolves(access(join(folder, 'capture.pcapng')), 'the stall keeps a capture');
    // Abandoned connections wait in the backlog; once accepted, stunnel writes to them and each
    // client answers with a reset: a spike well over the load's usual resets.
    const perSecond = (await readFile(join(folder, 'capture.txt'), 'utf8'))
      .split('\n')
      .map((line) => /^\s*\d+\s+\d+\s+\d+\s+(\d+) from /.exec(line)?.[1])
      .filter((n) => n !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
    const spike = perSecond.at(-1) ?? 0;
    const usual = perSecond[Math.floor(perSecond.length / 2)] ?? 0;
    t.ok(
      spike >= 100 && spike >= 4 * usual,
      `the capture shows the resets after it (${spike} in a second, usually ${usual})`,
    );
    t.equal(await runObjects(docker, results), 0, 'nothing left running');
  },
);

t.test('a backend stall: a stall while stunnel logs on (not silent); keep-alive frozen too', async (t) => {
  const run = await freeze('backend', SHORT);
  t.equal(run.code, 0, `the expectation is met: ${run.stdout.slice(-800)} ${run.stderr.slice(-400)}`);
  const [stall] = of(run.incidents, 'throughput-stall');
  t.equal(of(run.incidents, 'log-silence').length, 0, 'no silence');
  t.ok(
    finding(stall, 'keepAliveDuringPerSecond') < 0.5 * finding(stall, 'keepAliveBeforePerSecond'),
    `keep-alive connections froze with the backend (${finding(stall, 'keepAliveDuringPerSecond')}/s)`,
  );
});

// The other sinks, shorter: rsyslogd forwarding to a collector that stops reading (its queue of
// 10,000 fills first, and those lines arrive late: held, not lost), and a FIFO whose reader stops.
// The collector's stall shows only once rsyslogd's queue is full (about 7 s here, longer on a busy
// machine): a 10 s stall left too little (seen once in CI), so it gets 20 s.
for (const cause of ['collector', 'fifo'])
  t.test(`a ${cause} stall: a stall and a silence`, async (t) => {
    const run = await freeze(cause, cause === 'collector' ? { ...SHORT, stall: 20_000 } : SHORT);
    t.equal(run.code, 0, `the expectation is met: ${run.stdout.slice(-800)} ${run.stderr.slice(-400)}`);
    // Checked here too, not only by the scenario's own expectations: a judge that passes
    // everything must not pass this test.
    t.same(
      run.incidents.map((incident) => `${incident.kind}@${incident.node}`).sort(),
      ['accept-queue-growth@stunnel', 'log-silence@stunnel', 'throughput-stall@stunnel'],
      'one stall, one silence, the accept queue grown: on stunnel, and nothing else',
    );
    const [silence] = of(run.incidents, 'log-silence');
    t.ok(
      finding(silence, 'durationMs') >= 0.5 * SHORT.stall,
      `stunnel's log fell silent for the stall (${finding(silence, 'durationMs')} ms)`,
    );
    if (cause === 'collector')
      t.ok(
        finding(silence, 'lateLinesAfter') >= 1_000,
        `the sink held the lines of its queue (${finding(silence, 'lateLinesAfter')} came late)`,
      );
  });

t.test(
  'a connection flood past max_clients: new clients turned away with resets; stunnel logs on',
  async (t) => {
    const run = await freeze('flood', SHORT);
    t.equal(run.code, 0, `the expectation is met: ${run.stdout.slice(-800)} ${run.stderr.slice(-400)}`);
    const [stall] = of(run.incidents, 'throughput-stall');
    t.ok(finding(stall, 'resetsDuring') > 100, `resets during it (${finding(stall, 'resetsDuring')})`);
    t.equal(of(run.incidents, 'log-silence').length, 0, 'not silent');
  },
);

t.test(
  // 5.68 is every other test's version: the matrix covers the other two (one table, one cell each).
  'hunt matrix --stunnel 5.56,5.74: one table, a stall, a silence and a queue on each',
  async (t) => {
    const result = await hunt([
      'matrix',
      'stunnel-freeze',
      '--stunnel',
      '5.56,5.74',
      '--param',
      'before=8000',
      '--param',
      'stall=8000',
      '--param',
      'after=6000',
      '--results',
      results,
      '--json',
    ]);
    t.equal(result.code, 0, `${result.stdout.slice(-600)} ${result.stderr.slice(-400)}`);
    const matrix = JSON.parse(result.stdout) as {
      cells: Array<{ target: string; version: string; incidentsByKind: Record<string, number> }>;
    };
    t.same(
      matrix.cells.map((cell) => [cell.target, cell.version, cell.incidentsByKind]),
      ['5.56', '5.74'].map((version) => [
        version,
        version,
        { 'accept-queue-growth': 1, 'log-silence': 1, 'throughput-stall': 1 },
      ]),
    );
    t.equal(await runObjects(docker, results), 0, 'nothing left running');
  },
);

// The control: the same load with no fault but the one disturbance a deployment makes (a reload
// of stunnel every 2 s) must give no incident. A run with no disturbance at all takes the same
// half-minute and says less; `cause=none` stays for a user's own baseline.
t.test(
  'stunnel reloaded (SIGHUP) every 2 s through the stall: its listener rebound, no incident',
  async (t) => {
    const run = await freeze('sighup', SHORT);
    t.equal(run.code, 0, `no incident: ${run.stdout.slice(-800)} ${run.stderr.slice(-400)}`);
    t.same(
      run.incidents.map((incident) => incident.kind),
      [],
    );
    t.equal(await runObjects(docker, results), 0, 'nothing left running');
    const signals = (await readHistory(join(run.dir, 'history.jsonl'))).filter(
      (event) => event.type === 'nemesis-started' && event.nemesis === 'signal',
    );
    t.equal(signals.length, SHORT.stall / 2_000, `a SIGHUP every 2 s of the stall (${signals.length})`);
  },
);
