import t from 'tap';
import { systems } from '../cli/systems.ts';
import { ErrorCodes } from '../errors.ts';
import { writeFixtureRun } from '../test-kits/fixture-run.ts';
import { compareToBaseline, parseMatrix } from './matrix-baseline.ts';
import { matrixOfRuns } from './matrix-build.ts';
import { renderMatrix } from './matrix-render.ts';

const steady = (n: number, ms = 1000) => Array.from({ length: n }, (_, i) => ms + (i % 10) * 10);

t.test('a baseline: slower medians or more incidents beyond the intervals are regressions', async (t) => {
  const root = t.testdir();
  const baseline = await matrixOfRuns(
    [(await writeFixtureRun(root, { barriers: steady(100) })).dir],
    systems,
  );
  const same = await matrixOfRuns(
    [(await writeFixtureRun(root, { barriers: steady(100, 1010) })).dir],
    systems,
  );
  t.same(compareToBaseline(same, baseline).regressions, [], 'within noise: no regression');

  const slower = await matrixOfRuns(
    [(await writeFixtureRun(root, { barriers: steady(100, 1600) })).dir],
    systems,
  );
  const compared = compareToBaseline(slower, baseline);
  t.match(compared.regressions, [
    { target: '2.13.6', measure: 'barrier p50 (ms)' },
    { target: '2.13.6', measure: 'reconnect p50 (ms)' },
  ]);
  t.match(renderMatrix(compared), /## Against the baseline[\s\S]*barrier p50/);

  const failing = await matrixOfRuns(
    [(await writeFixtureRun(root, { barriers: steady(100), tlsFailures: 12 })).dir],
    systems,
  );
  t.match(compareToBaseline(failing, baseline).regressions, [{ measure: 'incidents per 1,000 reloads' }]);
  t.same(compareToBaseline(baseline, failing).regressions, [], 'fewer incidents is not a regression');
});

t.test('a baseline file that is not a matrix.json is refused', async (t) => {
  t.throws(() => parseMatrix('{"cells": []}', 'b.json'), { code: ErrorCodes.BASELINE_INVALID });
  t.throws(() => parseMatrix('nope', 'b.json'), { code: ErrorCodes.BASELINE_INVALID });
});

t.test('a baseline saved before steps had figures of their own still compares', async (t) => {
  const root = t.testdir();
  const today = await matrixOfRuns([(await writeFixtureRun(root, { barriers: steady(100) })).dir], systems);
  const cell = today.cells[0];
  if (!cell?.steps || !cell.phasesMs || !cell.rssTrendKbPer1000Steps) throw new Error('a cell with figures');
  // The cell as matrix.json wrote it before 2026-12-07.
  const { steps, phasesMs, rssTrendKbPer1000Steps, ...rest } = cell;
  const before = {
    ...rest,
    reloads: steps.count,
    verified: steps.ok,
    incidentsPer1000Reloads: steps.incidentsPer1000,
    barrierMs: phasesMs.barrier,
    reconnectMs: phasesMs.reconnect,
    rssTrendKbPer1000Reloads: rssTrendKbPer1000Steps,
  };
  const old = parseMatrix(JSON.stringify({ ...today, cells: [before] }), 'old.json');
  t.same(old.cells[0], cell, 'read into the shape of today');
  const slower = await matrixOfRuns(
    [(await writeFixtureRun(root, { barriers: steady(100, 1600) })).dir],
    systems,
  );
  t.match(compareToBaseline(slower, old).regressions, [
    { measure: 'barrier p50 (ms)' },
    { measure: 'reconnect p50 (ms)' },
  ]);
});

t.test('an old cell of a system without reloads keeps the steps it counted', async (t) => {
  const steps = { unit: 'episodes', count: 30, incidentsPer1000: { rate: 33.3, low: 5.9, high: 167 } };
  const none = { n: 0, p50: null, p50Low: null, p50High: null, p99: null, samples: [] };
  const old = parseMatrix(
    JSON.stringify({
      kind: 'handshake-hunter-matrix',
      version: 1,
      scenario: 'stunnel-freeze',
      params: {},
      regressions: [],
      cells: [
        {
          target: '5.68',
          runs: [],
          incidents: 1,
          incidentsByKind: {},
          opensslVersion: null,
          steps,
          reloads: 0,
          verified: 0,
          incidentsPer1000Reloads: null,
          barrierMs: none,
          reconnectMs: none,
          rssTrendKbPer1000Reloads: { node: null, harness: null },
        },
      ],
    }),
    'old.json',
  );
  t.same(old.cells[0]?.steps, steps);
  t.notOk(old.cells[0] && 'phasesMs' in old.cells[0], 'no phases it never timed');
  t.notOk(old.cells[0] && 'reloads' in old.cells[0]);
});
