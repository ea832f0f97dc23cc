import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { knownDetectors, systems } from '../cli/systems.ts';
import { makeDirectory } from '../fs-directory.ts';
import { writeReport } from '../report/report-writer.ts';
import { readRunFacts } from '../report/run-facts.ts';
import { Run } from '../run/run.ts';
import { detectionInputs, detectOffline, LiveDetection } from './detection.ts';
import { type Detector, defineDetector } from './detector.ts';
import { chooseDetectors } from './detector-registry.ts';
import { type Incident, IncidentLedger, incidentFolder } from './incidents.ts';

// Live detection and `hunt report` must give the same incidents (ids, kinds, evidence) whatever
// happens to the run folder: a history past its budget, a detector that throws, pruned captures.

const FIELD_LINE =
  '[2026-11-21 10:00:01 +0000] critical/ApiListener: Client TLS handshake failed (from [::ffff:172.20.0.1]:55460): excessive message size';

/** What must agree between live and offline. */
function shape(incidents: readonly Incident[]) {
  return incidents.map(({ id, kind, detector, node, count, evidence }) => ({
    id,
    kind,
    detector,
    node,
    count,
    evidence,
  }));
}

async function startRun(t: Test, detectors: readonly Detector[], history = {}) {
  const run = await Run.create({
    name: 'one-truth',
    seed: 1,
    resultsDir: t.testdir(),
    history: { ...history, essential: detectionInputs(detectors) },
  });
  return { run, detection: LiveDetection.of(run, detectors) };
}

function fieldFailure(run: Run, node: string, seq: number): void {
  run.history.record('observe', 'log-match', {
    node,
    seq,
    pattern: 'tls-handshake-failed',
    kind: 'tls-handshake-failed',
    line: FIELD_LINE,
    before: ['a line before'],
  });
}

async function offline(run: Run, detectors: readonly Detector[]) {
  const ledger = new IncidentLedger();
  const { failures } = await detectOffline(run.history.path, ledger, detectors);
  return { incidents: ledger.list(), failures };
}

t.test('a history past its budget: routine events are dropped, detector inputs are not', async (t) => {
  const detectors = chooseDetectors(knownDetectors);
  const { run, detection } = await startRun(t, detectors, {
    maxBytes: 20_000,
    routineBytes: 5_000,
    routineEvents: ['swarm:connect-attempt'],
  });
  fieldFailure(run, 'master1', 1);
  // Far past both budgets: routine chatter and bulky events nobody detects on.
  for (let i = 0; i < 500; i++) {
    run.history.record('swarm', 'connect-attempt', { endpoint: `sim-${i}`, master: 'master1' });
    run.history.record('proxy', 'toxic-applied', {
      proxy: 'master2',
      connection: i,
      padding: 'x'.repeat(100),
    });
  }
  fieldFailure(run, 'master2', 2);
  run.history.record('reload', 'reload-failed', { master: 'master1', step: 3, error: 'refused' });
  await detection.stop();
  await run.finish({ status: 'passed', exitCode: 0, complete: true });
  const live = detection.incidents.list();
  t.same(
    live.map((i) => `${i.kind}@${i.node} by ${i.detector}`),
    [
      'tls-handshake-failed@master1 by log-lines',
      'tls-handshake-failed@master2 by log-lines',
      'reload-failed@master1 by reload-outcomes',
    ],
    'each incident names the detector that opened it',
  );
  const facts = await readRunFacts(run.dir, systems);
  t.ok((facts.dropped['swarm:connect-attempt'] ?? 0) > 0, 'routine events were dropped');
  t.ok((facts.dropped['proxy:toxic-applied'] ?? 0) > 0, 'events past the budget were dropped');
  t.same(shape(facts.ledger.list()), shape(live), 'hunt report finds the same incidents');
});

t.test('a detector that throws is contained, named, and the same live and offline', async (t) => {
  const faulty = defineDetector<Record<string, never>>({
    name: 'faulty',
    summary: "throws on master1's first log match",
    kinds: [],
    reads: ['*:*'],
    init: () => ({}),
    step(_state, event) {
      if (event.type === 'log-match' && event.node === 'master1') throw new Error('a bug in a detector');
      return [];
    },
  });
  const detectors = [faulty, ...chooseDetectors(knownDetectors, ['log-lines'])];
  const { run, detection } = await startRun(t, detectors);
  run.history.record('run', 'status', {});
  run.history.record('run', 'status', {});
  fieldFailure(run, 'master1', 1);
  fieldFailure(run, 'master2', 2);
  await detection.stop();
  await run.finish({ status: 'error', exitCode: 3, complete: true });
  t.match(detection.failures, [
    { detector: 'faulty', error: 'a bug in a detector', event: 'observe:log-match' },
  ]);
  t.equal(detection.incidents.list().length, 2, 'the other detectors went on');
  const again = await offline(run, detectors);
  t.match(again.failures, [{ detector: 'faulty', event: 'observe:log-match' }]);
  t.same(shape(again.incidents), shape(detection.incidents.list()));
});

t.test('captures the disk budget pruned show as pruned; the incidents are the same', async (t) => {
  const detectors = chooseDetectors(knownDetectors);
  const { run, detection } = await startRun(t, detectors);
  fieldFailure(run, 'master1', 1);
  const folder = incidentFolder(run.dir, 1);
  await makeDirectory(folder);
  const files = ['capture.pcapng', 'window.pcapng', 'capture.txt'];
  for (const name of files) await writeFile(join(folder, name), 'x');
  run.history.record('capture', 'incident-evidence', { incident: 1, files });
  run.history.record('remedy', 'incident-finding', {
    incident: 1,
    findings: { persistence: { state: 'master-healthy' } },
  });
  await detection.stop();
  await run.finish({ status: 'failed', exitCode: 1, complete: true });
  // What the disk keeper does to an old incident: its capture window goes.
  await rm(join(folder, 'window.pcapng'));
  const { summary } = await writeReport(run.dir, systems);
  const [incident] = summary.incidents;
  t.same(shape(summary.incidents), shape(detection.incidents.list()));
  t.same(incident?.pruned, ['window.pcapng']);
  t.match(
    incident?.findings,
    { persistence: { state: 'master-healthy' } },
    'a finding attaches whatever detectors run',
  );
  t.notOk(
    summary.attach.some((path) => path.endsWith('window.pcapng')),
    'nothing pruned is to be attached',
  );
  t.match(await readFile(join(folder, 'incident.json'), 'utf8'), /"pruned"/);
});
