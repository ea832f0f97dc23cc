import t from 'tap';
import { systems } from '../cli/systems.ts';
import { ErrorCodes } from '../errors.ts';
import { writeFixtureRun } from '../test-kits/fixture-run.ts';
import { compareToBaseline } from './matrix-baseline.ts';
import { matrixOfRuns } from './matrix-build.ts';
import { renderMatrix } from './matrix-render.ts';

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
  const matrix = await matrixOfRuns([a.dir, b.dir, c.dir], systems);
  t.equal(matrix.cells.length, 2);
  const [v213, v214] = matrix.cells;
  t.match(v213, {
    target: '2.13.6',
    steps: { unit: 'reloads', count: 150, ok: 150 },
    incidents: 1,
    incidentsByKind: { 'tls-handshake-failed': 1 },
    runs: [{ id: a.id }, { id: b.id }],
  });
  // Wilson's 95% interval, the textbook values: 1 in 150 is 1.18 to 36.8 per 1,000.
  const near = (value: number | undefined, expected: number) =>
    Math.abs((value ?? Number.NaN) - expected) < 0.05;
  t.ok(
    near(v213?.steps?.incidentsPer1000?.low, 1.18),
    `one in 150 bounds from below (${v213?.steps?.incidentsPer1000?.low})`,
  );
  t.ok(
    near(v213?.steps?.incidentsPer1000?.high, 36.79),
    `and from above (${v213?.steps?.incidentsPer1000?.high})`,
  );
  t.equal(v214?.incidents, 0);
  t.ok(
    near(v214?.steps?.incidentsPer1000?.high, 87.62),
    `zero in 40 still has an upper bound: 87.6 per 1,000 (${v214?.steps?.incidentsPer1000?.high})`,
  );
  t.equal(v214?.rssTrendKbPer1000Steps?.node, 20_000, 'a steady 20 KB per reload is 20,000 per 1,000');
  t.equal(v213?.rssTrendKbPer1000Steps?.node, 0);
  const barrier = v213?.phasesMs?.barrier;
  t.ok(barrier?.p50Low !== null && (barrier?.p50Low ?? 0) <= (barrier?.p50 ?? 0));
  t.same(Object.keys(v213?.phasesMs ?? {}), ['barrier', 'reconnect'], "Icinga's phases, in its order");
  const markdown = renderMatrix(matrix);
  t.match(markdown, /\| 2\.13\.6 \| 2\.13\.6 \| 3\.0\.20 \|/);
  t.match(markdown, /1: 1 tls-handshake-failed/);
  t.match(
    markdown,
    /\| reloads \| incidents \| per 1,000 reloads \(95%\) \| barrier p50 \[95%\] \/ p99 ms \| reconnect p50/,
  );
});

t.test('runs that do not belong together are refused', async (t) => {
  const root = t.testdir();
  const storm = await writeFixtureRun(root, { barriers: steady(10) });
  const canary = await writeFixtureRun(root, { scenario: 'canary', barriers: steady(10) });
  const other = await writeFixtureRun(root, { params: { endpoints: 5 }, barriers: steady(10) });
  await t.rejects(matrixOfRuns([storm.dir, canary.dir], systems), {
    code: ErrorCodes.USAGE,
    message: /one scenario/,
  });
  const grid = await matrixOfRuns([storm.dir, other.dir], systems);
  t.same(grid.grid, ['endpoints'], 'runs with different parameters are a grid, not refused');
});

t.test('a grid of parameters: one cell per target and values, the shared ones once', async (t) => {
  const root = t.testdir();
  const run = (load: number, icinga: string) =>
    writeFixtureRun(root, { params: { load, rate: 100 }, target: { icinga }, barriers: steady(4) });
  const runs = [
    await run(0, '2.13.6'),
    await run(4, '2.13.6'),
    await run(0, '2.14.6'),
    await run(0, '2.14.6'),
  ];
  const matrix = await matrixOfRuns(
    runs.map((r) => r.dir),
    systems,
  );
  t.same(matrix.params, { rate: 100 });
  t.same(matrix.grid, ['load']);
  t.same(
    matrix.cells.map((cell) => [cell.target, cell.grid?.load, cell.runs.length]),
    [
      ['2.13.6', 0, 1],
      ['2.13.6', 4, 1],
      ['2.14.6', 0, 2],
    ],
  );
  t.match(renderMatrix(matrix), /\| target \| load \| icinga \|[\s\S]*\| 2\.13\.6 \| 4 \| 2\.13\.6 \|/);
  const baseline = compareToBaseline(matrix, matrix);
  t.same(baseline.baseline?.targets, ['2.13.6 load=0', '2.13.6 load=4', '2.14.6 load=0']);
  t.same(baseline.regressions, []);
});

t.test('a race hunt: rates per 1,000 swaps, swaps to the first incident, the advisory column', async (t) => {
  const root = t.testdir();
  const advisory = { advisory: 'GHSA-vj39-ww8j-vvx5', affected: true, evidence: '20 of 20 swapped' };
  const crashed = await writeFixtureRun(root, {
    scenario: 'race-hunt',
    barriers: steady(1),
    swaps: 120,
    failAfterSwaps: 54,
    tlsFailures: 1,
    advisory,
  });
  const survived = await writeFixtureRun(root, {
    scenario: 'race-hunt',
    target: { icinga: '2.14.6' },
    barriers: steady(1),
    swaps: 300,
    advisory,
  });
  const matrix = await matrixOfRuns([crashed.dir, survived.dir], systems);
  t.equal(matrix.unit, 'context-swap', 'swaps outnumber reloads: they are the unit');
  const [v213, v214] = matrix.cells;
  t.match(v213?.perDisruption, {
    count: 120,
    failedRuns: 1,
    toFailure: [{ run: crashed.id, disruptions: 54, failed: true }],
  });
  t.ok((v213?.perDisruption?.failuresPer1000?.low ?? 0) > 0, 'one failure bounds from below');
  t.equal(
    v213?.perDisruption?.failuresPer1000?.rate,
    18.519,
    'one failure in the 54 swaps up to it, not in all 120 (the 66 after it tested nothing)',
  );
  t.match(v214?.perDisruption, {
    count: 300,
    failedRuns: 0,
    toFailure: [{ disruptions: 300, failed: false }],
  });
  t.ok(
    Math.abs((v214?.perDisruption?.failuresPer1000?.high ?? 0) - 12.64) < 0.05,
    `zero in 300 still has an upper bound: 12.6 per 1,000 (${v214?.perDisruption?.failuresPer1000?.high})`,
  );
  const markdown = renderMatrix(matrix);
  t.match(markdown, /context-swaps to failure, per run/);
  // Three significant digits: 18.519 (3.27-97.1), not a rate with three decimals.
  t.match(markdown, /\| 18\.5 \(\d\.\d\d-\d\d\.\d\) \|/, 'rates with three significant digits');
  t.match(markdown, /\| 54 \|/);
  t.match(markdown, /\| >300 \|/);
  t.match(markdown, /GHSA-vj39-ww8j-vvx5[\s\S]*\*\*affected\*\*: 20 of 20 swapped/);
});

t.test('a probed failure: whether it outlived its cause, and the restart that ended it', async (t) => {
  const root = t.testdir();
  const persistent = await writeFixtureRun(root, {
    scenario: 'field-signature',
    params: { mode: 'umbrella' },
    barriers: steady(4),
    tlsFailures: 1,
    firstIncidentFindings: {
      persistence: { state: 'persistent', remedy: { action: 'restart', recoveredAfterMs: 1943 } },
    },
  });
  const cleared = await writeFixtureRun(root, {
    scenario: 'field-signature',
    params: { mode: 'worker' },
    barriers: steady(4),
    tlsFailures: 1,
    // What the persistence probe writes when a good client still gets through (incident-reactions.ts).
    firstIncidentFindings: { persistence: { state: 'master-healthy' } },
  });
  const reloaded = await writeFixtureRun(root, {
    scenario: 'field-signature',
    params: { mode: 'trigger' },
    barriers: steady(4),
    tlsFailures: 1,
    firstIncidentFindings: {
      persistence: { state: 'persistent', remedy: { action: 'reload', recoveredAfterMs: 1210 } },
    },
  });
  const matrix = await matrixOfRuns([persistent.dir, cleared.dir, reloaded.dir], systems);
  t.match(matrix.cells, [
    {
      grid: { mode: 'umbrella' },
      persistence: [{ node: 'node1', state: 'persistent', recoveredAfterMs: 1943, recoveredBy: 'restart' }],
    },
    { grid: { mode: 'worker' }, persistence: [{ node: 'node1', state: 'master-healthy' }] },
  ]);
  const markdown = renderMatrix(matrix);
  t.match(markdown, /\| target \| mode \| persistence \(recovered by, after\) \| icinga/);
  t.match(markdown, /\| umbrella \| node1 persistent \(restart, 1\.9 s\) \|/);
  t.match(markdown, /\| worker \| node1 master-healthy \|/);
  t.match(markdown, /\| trigger \| node1 persistent \(reload, 1\.2 s\) \|/, 'a reload cleared it');
});

t.test('measures: one column each, the median of the cell', async (t) => {
  const root = t.testdir();
  const run = (keys: string, certificate: number) =>
    writeFixtureRun(root, {
      scenario: 'cert-size-sweep',
      params: { keys },
      barriers: steady(2),
      measures: { 'Certificate (bytes)': certificate },
    });
  const runs = [
    await run('rsa2048', 1700),
    await run('rsa2048', 1710),
    await run('rsa2048', 1720),
    await run('rsa4096', 2230),
  ];
  const matrix = await matrixOfRuns(
    runs.map((r) => r.dir),
    systems,
  );
  t.same(
    matrix.cells.map((cell) => cell.measures),
    [{ 'Certificate (bytes)': 1710 }, { 'Certificate (bytes)': 2230 }],
  );
  t.match(renderMatrix(matrix), /\| target \| keys \| Certificate \(bytes\) \|[\s\S]*\| rsa4096 \| 2230 \|/);
});
