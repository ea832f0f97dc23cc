import { copyFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import type { Matrix, MatrixCell } from '../../report/matrix.ts';
import { matrixOfRuns } from '../../report/matrix-build.ts';
import { makePlan, writePlan } from '../../runner/matrix-plan.ts';
import { writeFixtureRun } from '../../test-kits/fixture-run.ts';
import { huntInProcess } from '../../test-kits/hunt-in-process.ts';
import { systems } from '../systems.ts';

const hunt = huntInProcess;

/** n reloads' barrier times: ms, ms+15, ... ms+90, over and over (the reconnect is 200 ms more). */
const barriers = (n: number, ms: number) => Array.from({ length: n }, (_, i) => ms + (i % 7) * 15);

const cellOf = (matrix: Matrix, target: string): MatrixCell | undefined =>
  matrix.cells.find((cell) => cell.target === target);
/** A cell without its run order: merging runs in another order may list them otherwise. */
const unordered = (cell: MatrixCell | undefined) =>
  cell && { ...cell, runs: [...cell.runs].sort((a, b) => a.id.localeCompare(b.id)) };

t.test('hunt merge of runs made separately equals the matrix of all of them', async (t) => {
  const root = t.testdir();
  // Two machines' runs of 2.13.6 and one of 2.14.6, as CI artifacts would arrive.
  const runs = [
    await writeFixtureRun(root, { barriers: barriers(60, 900), tlsFailures: 1 }),
    await writeFixtureRun(root, { barriers: barriers(40, 950) }),
    await writeFixtureRun(root, { target: { icinga: '2.14.6' }, barriers: barriers(50, 1200) }),
  ];
  const out = join(root, 'merged');
  const result = await hunt(['merge', ...runs.map((run) => run.dir), '--out', out, '--json']);
  t.equal(result.code, 0);
  const merged = JSON.parse(result.stdout) as Matrix;

  // What the fixtures imply, worked out from how they are written, not by the code under test.
  t.equal(merged.scenario, 'reload-storm');
  t.same(merged.params, {});
  t.same(merged.regressions, [], 'no baseline, no regression');
  t.same(
    merged.cells.map((cell) => cell.target),
    ['2.13.6', '2.14.6'],
    'one cell per target, in the order the runs came',
  );
  const older = cellOf(merged, '2.13.6');
  t.same(
    older?.runs.map((run) => run.id),
    [runs[0]?.id, runs[1]?.id],
    "2.13.6 pools the two machines' runs",
  );
  t.same(
    older?.runs.map((run) => run.status),
    ['passed', 'passed'],
    'as each run ended',
  );
  t.match(
    older,
    {
      system: 'icinga',
      version: '2.13.6',
      opensslVersion: '3.0.20',
      // 60 + 40, every reload of a fixture finishes; 1 in 100, Wilson 95% (z 1.96) per 1,000
      steps: {
        unit: 'reloads',
        count: 100,
        ok: 100,
        incidentsPer1000: { rate: 10, low: 1.767, high: 54.486 },
      },
      incidents: 1, // the one "excessive message size" line
      incidentsByKind: { 'tls-handshake-failed': 1 },
      // Pooled, sorted: 900 x9, 915 x9, 930 x9, 945 x9, 950 x6, 960 x8, ...: the 50th is 960 (nearest
      // rank); the 99th of 100 is one of the five 1040s (950 + 6 x 15).
      phasesMs: { barrier: { n: 100, p50: 960, p99: 1040 }, reconnect: { n: 100, p50: 1160, p99: 1240 } },
    },
    '2.13.6: the two runs pooled',
  );
  t.same(older?.incidentsByKind, { 'tls-handshake-failed': 1 }, 'no other kind');
  t.equal(older?.phasesMs?.barrier?.samples.length, 100, "every reload's barrier is kept");
  const newer = cellOf(merged, '2.14.6');
  t.same(
    newer?.runs.map((run) => run.id),
    [runs[2]?.id],
    '2.14.6 has its one run',
  );
  t.match(
    newer,
    {
      version: '2.14.6',
      // No incident in 50 still gives an upper bound.
      steps: { count: 50, ok: 50, incidentsPer1000: { rate: 0, low: 0, high: 71.348 } },
      incidents: 0,
      // 1200 x8, 1215 x7, 1230 x7, 1245 x7, ...: the 25th of 50 is 1245.
      phasesMs: { barrier: { n: 50, p50: 1245, p99: 1290 }, reconnect: { n: 50, p50: 1445, p99: 1490 } },
    },
    '2.14.6: its one run',
  );
  t.same(newer?.incidentsByKind, {}, 'no incident in 2.14.6');

  // The behaviour this test names: the merge is the matrix of the same runs, and its files say the same.
  const direct = await matrixOfRuns(
    runs.map((run) => run.dir),
    systems,
  );
  t.same(merged, direct, 'the same table, field by field');
  t.same(JSON.parse(await readFile(join(out, 'matrix.json'), 'utf8')), merged, 'matrix.json is the result');
  t.match(
    await readFile(join(out, 'matrix.md'), 'utf8'),
    /\| 2\.13\.6 \|.*\| 100 \|/,
    'matrix.md: 2.13.6 with its 100 reloads',
  );

  // Merging in another order changes no cell's numbers.
  const again = await hunt([
    'merge',
    ...runs.map((run) => run.dir).reverse(),
    '--out',
    join(root, 'reversed'),
    '--json',
  ]);
  t.equal(again.code, 0);
  const reversed = JSON.parse(again.stdout) as Matrix;
  t.same(
    reversed.cells.map((cell) => cell.target),
    ['2.14.6', '2.13.6'],
    'the cells in the order their runs came',
  );
  for (const target of ['2.13.6', '2.14.6'])
    t.same(unordered(cellOf(reversed, target)), unordered(cellOf(merged, target)), `${target}, in any order`);
});

t.test('hunt merge --baseline exits 1 naming the regression', async (t) => {
  const root = t.testdir();
  // The same spread of barriers, 600 ms slower: every worse reload slower than every baseline one.
  const baselineRun = await writeFixtureRun(root, { barriers: barriers(80, 900) });
  const worseRun = await writeFixtureRun(root, { barriers: barriers(80, 1500) });
  const baselineFile = join(root, 'baseline.json');
  t.equal((await hunt(['merge', baselineRun.dir, '--out', join(root, 'a')])).code, 0);
  await copyFile(join(root, 'a', 'matrix.json'), baselineFile);
  const same = await hunt(['merge', baselineRun.dir, '--out', join(root, 'c'), '--baseline', baselineFile]);
  t.equal(same.code, 0, 'a run against its own baseline: no regression');
  const worse = await hunt(['merge', worseRun.dir, '--out', join(root, 'b'), '--baseline', baselineFile]);
  t.equal(worse.code, 1);
  t.match(worse.stdout, /2\.13\.6 \| barrier p50 \(ms\)/);
  const written = JSON.parse(await readFile(join(root, 'b', 'matrix.json'), 'utf8')) as Matrix;
  t.same(written.baseline, { scenario: 'reload-storm', params: {}, targets: ['2.13.6'] });
  // 80 reloads: 900, 915, 930 twelve times each, then 945...: the 40th is 945, the worse run's 1545;
  // the reconnects 200 ms more. No incidents in either: the incident rate is no regression.
  t.match(
    written.regressions,
    [
      {
        target: '2.13.6',
        measure: 'barrier p50 (ms)',
        baseline: /^945 \(95% \d+-\d+, n 80\)$/,
        current: /^1545 \(95% \d+-\d+, n 80; rank test p < 0\.0001\)$/,
      },
      {
        target: '2.13.6',
        measure: 'reconnect p50 (ms)',
        baseline: /^1145 \(95% \d+-\d+, n 80\)$/,
        current: /^1745 \(95% \d+-\d+, n 80; rank test p < 0\.0001\)$/,
      },
    ],
    'the slower barrier and reconnect, each named with both medians',
  );
  t.equal(written.regressions.length, 2, 'the two timings, nothing else');
  t.match(
    written.cells,
    [{ target: '2.13.6', steps: { count: 80 }, incidents: 0, phasesMs: { barrier: { p50: 1545 } } }],
    'the worse run alone',
  );
  t.equal(written.cells.length, 1, 'one cell');
});

t.test("hunt merge of a plan's cells names the cells with no run: a job that died", async (t) => {
  const root = t.testdir();
  const plan = makePlan({
    scenario: 'reload-storm',
    system: 'icinga',
    seed: 7,
    cells: ['2.12.3', '2.13.6', '2.14.6'].map((version, index) => ({
      index,
      name: version,
      args: ['run', 'reload-storm', '--seed', '7', '--icinga', version],
    })),
  });
  const cellRun = (index: number) =>
    writeFixtureRun(root, {
      target: { icinga: plan.cells[index]?.name ?? '' },
      barriers: barriers(10, 900),
      plan: { id: plan.id, cell: index, cells: 3, name: plan.cells[index]?.name ?? '' },
    });
  const runs = [await cellRun(0), await cellRun(2)];
  const dirs = runs.map((run) => run.dir);
  const bare = await hunt(['merge', ...dirs, '--out', join(root, 'bare'), '--json']);
  t.equal(bare.code, 0, 'a missing cell is said, not a failure');
  t.same(JSON.parse(bare.stdout).missing, [{ plan: plan.id, cell: 1 }], 'by number without the plan');
  t.same(
    (JSON.parse(bare.stdout) as Matrix).cells.map((cell) => cell.target),
    ['2.12.3', '2.14.6'],
    'the table covers the cells that ran',
  );

  const planPath = join(root, 'plan.json');
  await writePlan(planPath, plan);
  const named = await hunt(['merge', ...dirs, '--plan', planPath, '--out', join(root, 'named'), '--json']);
  t.same(JSON.parse(named.stdout).missing, [{ plan: plan.id, cell: 1, name: '2.13.6' }], 'by name with it');
  t.match(
    await readFile(join(root, 'named', 'matrix.md'), 'utf8'),
    new RegExp(`## Cells missing[\\s\\S]*- plan ${plan.id}, cell 1: 2\\.13\\.6`),
  );

  const all = await hunt([
    'merge',
    ...dirs,
    await cellRun(1).then((run) => run.dir),
    '--plan',
    planPath,
    '--out',
    join(root, 'all'),
    '--json',
  ]);
  t.equal(JSON.parse(all.stdout).missing, undefined, 'every cell ran: nothing missing');

  const other = await writeFixtureRun(root, { barriers: barriers(10, 900) });
  const none = await hunt(['merge', other.dir, '--plan', planPath, '--out', join(root, 'none'), '--json']);
  t.same(
    (JSON.parse(none.stdout) as Matrix).missing?.map((m) => m.name),
    ['2.12.3', '2.13.6', '2.14.6'],
    'no run of the plan: all of its cells missing',
  );
});
