import t from 'tap';
import { ErrorCodes } from '../errors.ts';
import { writeFixtureRun } from '../test-kits/fixture-run.ts';
import { compareToBaseline, matrixOfRuns, parseMatrix, renderMatrix } from './matrix.ts';

const steady = (n: number, ms = 1000) => Array.from({ length: n }, (_, i) => ms + (i % 10) * 10);

t.test('runs of one version pool into one cell; each version has its own', async (t) => {
  const root = t.testdir();
  const a = await writeFixtureRun(root, { barriers: steady(100), tlsFailures: 1 });
  const b = await writeFixtureRun(root, { barriers: steady(50) });
  const c = await writeFixtureRun(root, {
    target: { icinga: '2.14.6' },
    barriers: steady(40),
    rssGrowthKb: 20,
  });
  const matrix = await matrixOfRuns([a.dir, b.dir, c.dir]);
  t.equal(matrix.cells.length, 2);
  const [v213, v214] = matrix.cells;
  t.match(v213, {
    target: '2.13.6',
    reloads: 150,
    incidents: 1,
    incidentsByKind: { 'tls-handshake-failed': 1 },
    runs: [{ id: a.id }, { id: b.id }],
  });
  t.ok(v213?.incidentsPer1000Reloads && v213.incidentsPer1000Reloads.low > 0, 'one in 150 bounds from below');
  t.equal(v214?.incidents, 0);
  t.ok(
    (v214?.incidentsPer1000Reloads?.high ?? 0) > 50,
    'zero in 40 still has an upper bound (~88 per 1,000)',
  );
  t.equal(v214?.rssTrendKbPer1000Reloads.master, 20_000, 'a steady 20 KB per reload is 20,000 per 1,000');
  t.equal(v213?.rssTrendKbPer1000Reloads.master, 0);
  t.ok(v213?.barrierMs.p50Low !== null && (v213?.barrierMs.p50Low ?? 0) <= (v213?.barrierMs.p50 ?? 0));
  const markdown = renderMatrix(matrix);
  t.match(markdown, /\| 2\.13\.6 \| 2\.13\.6 \| 3\.0\.20 \|/);
  t.match(markdown, /1: 1 tls-handshake-failed/);
});

t.test('a baseline: slower medians or more incidents beyond the intervals are regressions', async (t) => {
  const root = t.testdir();
  const baseline = await matrixOfRuns([(await writeFixtureRun(root, { barriers: steady(100) })).dir]);
  const same = await matrixOfRuns([(await writeFixtureRun(root, { barriers: steady(100, 1010) })).dir]);
  t.same(compareToBaseline(same, baseline).regressions, [], 'within noise: no regression');

  const slower = await matrixOfRuns([(await writeFixtureRun(root, { barriers: steady(100, 1600) })).dir]);
  const compared = compareToBaseline(slower, baseline);
  t.match(compared.regressions, [
    { target: '2.13.6', measure: 'reload barrier p50 (ms)' },
    { target: '2.13.6', measure: 'reconnect p50 (ms)' },
  ]);
  t.match(renderMatrix(compared), /## Against the baseline[\s\S]*reload barrier p50/);

  const failing = await matrixOfRuns([
    (await writeFixtureRun(root, { barriers: steady(100), tlsFailures: 12 })).dir,
  ]);
  t.match(compareToBaseline(failing, baseline).regressions, [{ measure: 'incidents per 1,000 reloads' }]);
  t.same(compareToBaseline(baseline, failing).regressions, [], 'fewer incidents is not a regression');
});

t.test('runs that do not belong together are refused', async (t) => {
  const root = t.testdir();
  const storm = await writeFixtureRun(root, { barriers: steady(10) });
  const canary = await writeFixtureRun(root, { scenario: 'canary', barriers: steady(10) });
  const other = await writeFixtureRun(root, { params: { endpoints: 5 }, barriers: steady(10) });
  await t.rejects(matrixOfRuns([storm.dir, canary.dir]), { code: ErrorCodes.USAGE, message: /one scenario/ });
  await t.rejects(matrixOfRuns([storm.dir, other.dir]), {
    code: ErrorCodes.USAGE,
    message: /same parameters/,
  });
  t.throws(() => parseMatrix('{"cells": []}', 'b.json'), { code: ErrorCodes.BASELINE_INVALID });
  t.throws(() => parseMatrix('nope', 'b.json'), { code: ErrorCodes.BASELINE_INVALID });
});
