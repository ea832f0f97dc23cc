import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { systems } from '../cli/systems.ts';
import { readHistory } from '../run/history-reader.ts';
import { Run } from '../run/run.ts';
import { writeFixtureRun } from '../test-kits/fixture-run.ts';
import { writeReport } from './report-writer.ts';
import { readRunFacts } from './run-facts.ts';
import { timelineSpec } from './timeline.ts';

const FIELD_LINE =
  '[2026-11-21 10:00:01 +0000] critical/ApiListener: Client TLS handshake failed (from [::ffff:172.20.0.1]:55460): excessive message size';

/** A small run written the way the harness writes one: reloads, a status, a TLS failure. */
async function fixtureRun(root: string, finish: boolean) {
  const run = await Run.create({
    name: 'fixture',
    scenario: 'canary',
    params: { endpoints: 20 },
    seed: 7,
    resultsDir: root,
  });
  await run.describe('target', { icinga: '2.13.6' });
  await run.describe('limits', { steps: 4, durationMs: null });
  await run.describe('stack', {
    image: 'handshake-hunter/icinga2:2.13.6',
    icingaVersion: '2.13.6',
    opensslVersion: '3.0.20',
    icingaVersionText: 'icinga2 - The Icinga 2 network monitoring daemon (version: r2.13.6-1)',
  });
  for (let step = 0; step < 4; step++) {
    run.history.record('reload', 'reload-started', { step, master: 'master1', delayMs: 0 });
    run.history.record('reload', 'reload-finished', {
      step,
      master: 'master1',
      barrierMs: 700 + step,
      reconnectMs: 900 + step * 100,
      newPid: 10 + step,
    });
  }
  run.history.record('run', 'status', { endpointsConnected: 40, endpointsTotal: 40 });
  run.history.record('observe', 'log-match', { node: 'master1', seq: 3, line: FIELD_LINE, before: ['x'] });
  if (finish) {
    await run.describe('verdict', {
      expectations: [
        {
          description: 'one tls-handshake-failed incident per master, with evidence',
          ok: true,
          detail: 'found',
        },
      ],
      incidents: 1,
    });
    await run.finish({ status: 'passed', exitCode: 0, complete: true, summary: 'every expectation met' });
  } else await run.history.close();
  return run;
}

t.test(
  'the report of a finished run: report.md for an issue, summary.json, the timeline as SVG and PNG',
  async (t) => {
    const run = await fixtureRun(t.testdir(), true);
    const { summary } = await writeReport(run.dir, systems);
    const report = await readFile(join(run.dir, 'report.md'), 'utf8');
    t.match(report, /\*\*PASSED/);
    t.match(report, /\(version: r2\.13\.6-1\)/, 'an environment block like icinga2 --version');
    t.match(report, /\| barrier \(signal -> new worker serving\) \| 4 \| 701 ms \| 703 ms \| 703 ms \|/);
    t.match(report, /Incidents per 1,000 reloads: 250\.0 \(95% interval \d+\.\d-\d+\.\d, Wilson\)/);
    t.match(
      report,
      /\| 1 \| tls-handshake-failed \| master1 \| 172\.20\.0\.1 \|.*\[log-master1\.txt\]\(incidents\/001\/log-master1\.txt\)/,
    );
    t.match(report, /npx hunt run canary --param endpoints=20 --icinga 2\.13\.6 --steps 4 --seed 7/);
    const json = JSON.parse(await readFile(join(run.dir, 'summary.json'), 'utf8'));
    t.same(json, JSON.parse(JSON.stringify(summary)), 'summary.json says what report.md says');
    t.match(json, {
      status: 'passed',
      steps: { unit: 'reloads', total: 4, ok: 4, phasesMs: { reconnect: { p50: 1000 } } },
      incidents: [{ kind: 'tls-handshake-failed', count: 1 }],
    });
    const png = await readFile(join(run.dir, 'timeline.png'));
    t.same([...png.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47], 'a PNG');
    t.ok(png.length > 10_000, `with something drawn (${png.length} bytes)`);
    t.match(await readFile(join(run.dir, 'timeline.svg'), 'utf8'), /<svg[\s\S]*durations of reloads/);
  },
);

t.test('a killed run (no end, a cut last line) still renders, marked incomplete', async (t) => {
  const run = await fixtureRun(t.testdir(), false);
  await appendFile(join(run.dir, 'history.jsonl'), '{"t":99,"at":"2026-11-21T1');
  const { summary } = await writeReport(run.dir, systems);
  t.equal(summary.status, 'incomplete');
  t.equal(summary.complete, false);
  t.equal(summary.history.skippedLines, 1);
  t.equal(summary.steps?.total, 4);
  t.match(await readFile(join(run.dir, 'report.md'), 'utf8'), /\*\*INCOMPLETE/);
});

t.test('not a run folder: a clear error', async (t) => {
  const dir = t.testdir({ 'run.json': '{nope' });
  await t.rejects(writeReport(join(dir, 'missing'), systems), {
    code: 'HH_RUN_NOT_FOUND',
    message: /not a run folder/,
  });
  await t.rejects(writeReport(dir, systems), { code: 'HH_RUN_NOT_FOUND', message: /not valid JSON/ });
  await writeFile(join(dir, 'run.json'), '{}');
  await t.rejects(writeReport(dir, systems), { code: 'HH_RUN_NOT_FOUND', message: /No history/ });
});

t.test('a stunnel run: its version, the load, the stall with its findings; no reload sections', async (t) => {
  const { writeLoadFixtureRun } = await import('../test-kits/fixture-run.ts');
  const run = await writeLoadFixtureRun(t.testdir(), {
    version: '5.68',
    seconds: 40,
    stallFrom: 15,
    stallFor: 12,
  });
  const { reportPath } = await writeReport(run.dir, systems);
  const report = await readFile(reportPath, 'utf8');
  t.match(report, /stunnel 5\.68 \(Debian's stunnel4, debug 7\)/);
  t.notMatch(report, /Icinga|Reload timings|Reloads:/);
  t.match(report, /## Load\n\n\| to \|.*\n.*\n\| stunnel \| 40 \| 4,000 \|/);
  t.match(report, /### #1 throughput-stall on stunnel[\s\S]*Findings: .*durationMs 12000/);
  t.match(report, /### #2 log-silence on stunnel/);
});

t.test('a stunnel matrix: one table of stalls and silences per version', async (t) => {
  const { writeLoadFixtureRun } = await import('../test-kits/fixture-run.ts');
  const { matrixOfRuns } = await import('./matrix-build.ts');
  const { renderMatrix } = await import('./matrix-render.ts');
  const root = t.testdir();
  const a = await writeLoadFixtureRun(root, { version: '5.56', seconds: 40, stallFrom: 15, stallFor: 12 });
  const b = await writeLoadFixtureRun(root, { version: '5.74', seconds: 40, stallFrom: 15, stallFor: 6 });
  const table = renderMatrix(await matrixOfRuns([a.dir, b.dir], systems));
  t.match(table, /\| target \| stunnel \| runs \| incidents \| stalls \(s\) \| log silences \(s\) \|/);
  t.match(
    table,
    /\| 5\.56 \| 5\.56 \| .* \| 2: 1 log-silence, 1 throughput-stall \| 12 \| 12 \| 100 \| 600 \|/,
  );
  t.match(table, /\| 5\.74 \| 5\.74 \|.*\| 6 \| 6 \| 100 \| 300 \|/);
  t.notMatch(table, /Icinga|reloads/);
});

t.test('an incident whose capture was not kept says why', async (t) => {
  const run = await writeFixtureRun(t.testdir(), {
    barriers: [1000],
    tlsFailures: 1,
    captureFailed: 'no packets of node1 in the window',
  });
  const { reportPath, summary } = await writeReport(run.dir, systems);
  t.match(summary.incidents[0], { id: 1, captureFailed: 'no packets of node1 in the window' });
  t.match(
    await readFile(reportPath, 'utf8'),
    /### #1[\s\S]*Packet capture: not kept \(no packets of node1 in the window\)\./,
  );
});

t.test('what a scenario measured and the advisories it checked are in the report', async (t) => {
  const run = await writeFixtureRun(t.testdir(), {
    scenario: 'race-hunt',
    barriers: [1000],
    measures: { 'Certificate sent': 2218, 'Certificate predicted': 2218 },
    advisory: {
      advisory: 'GHSA-vj39-ww8j-vvx5',
      affected: true,
      evidence: '12 context swaps logged for 12 sent',
    },
  });
  const { reportPath, summary } = await writeReport(run.dir, systems);
  t.same(summary.measures, { 'Certificate sent': [2218], 'Certificate predicted': [2218] });
  const report = await readFile(reportPath, 'utf8');
  t.match(report, /## Measured[\s\S]*\| Certificate sent \| 2,218 \|/);
  t.match(report, /GHSA-vj39-ww8j-vvx5 on master2: \*\*affected\*\* \(12 context swaps logged for 12 sent\)/);
});

t.test('the timeline starts where the target was up, not at the image build before it', async (t) => {
  const run = await Run.create({
    name: 'late',
    scenario: 'canary',
    params: {},
    seed: 1,
    resultsDir: t.testdir(),
  });
  // What a run with an image build records: status lines of nothing, then the target.
  run.history.record('run', 'status', { clientsConnected: 0, clientsTotal: 0, clientsLabel: 'peers' });
  await sleep(5);
  run.history.record('run', 'target-started', { system: 'icinga', nodes: ['master1'] });
  run.history.record('run', 'status', { clientsConnected: 20, clientsTotal: 20, clientsLabel: 'peers' });
  await run.finish({ status: 'passed', exitCode: 0, complete: true });
  const facts = await readRunFacts(run.dir, systems);
  const events = await readHistory(join(run.dir, 'history.jsonl'));
  const startedAt = events.find((e) => e.type === 'target-started')?.at;
  t.equal(facts.targetStartedAt, startedAt);
  const panels = (
    timelineSpec(facts) as {
      vconcat: Array<{ title: string; layer: Array<{ data?: { values?: unknown[] } }> }>;
    }
  ).vconcat;
  const connected = panels.find((panel) => panel.title === 'peers connected');
  const values = connected?.layer.flatMap((layer) => layer.data?.values ?? []) as Array<{ at: string }>;
  t.same(
    values.filter((value) => 'clientsConnected' in value).map((value) => value.at),
    [events.filter((e) => e.type === 'status').at(-1)?.at],
    'only the status after the target came up',
  );
});

t.test('a run written before the status line spoke of clients: its endpoints read as clients', async (t) => {
  const run = await fixtureRun(t.testdir(), true);
  const facts = await readRunFacts(run.dir, systems);
  t.match(facts.status, [{ clientsConnected: 40, clientsTotal: 40, clientsLabel: undefined }]);
  const titles = (timelineSpec(facts) as { vconcat: Array<{ title: string }> }).vconcat.map((p) => p.title);
  t.ok(titles.includes('clients connected'), `the panel says clients (${titles.join('; ')})`);
});
