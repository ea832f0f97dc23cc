import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import type { Matrix, MatrixCell } from '../report/matrix.ts';
import { hunt } from './cli.ts';

// A matrix handed to a scheduler: the plan's cells run as separate processes, each told its
// index the way a Kubernetes Indexed Job tells a pod (JOB_COMPLETION_INDEX), then merged. The
// table must be the one hunt matrix makes of the same plan on one machine; a cell whose job died
// (its run folder gone) is named, not hidden. The canary keeps it short: two reloads per cell,
// one oversized chain, so each master has its one expected incident.
const root = t.testdir();
const matrixArgs = [
  'matrix',
  'canary',
  '--icinga',
  '2.13.6',
  '--grid',
  'endpoints=3,4',
  '--reloads',
  '2',
  '--seed',
  '11',
  '--capture',
  'off',
];

/**
 * What a table says of a cell, whoever ran it: the expected incident counted exactly. (The padded
 * endpoint's failure may also reach the swarm as a reset before the storm, a handshake-interrupted
 * incident that one run has and another not; the verdict does not depend on it.)
 */
const verdictOf = (cell: MatrixCell) => ({
  target: cell.target,
  grid: cell.grid,
  reloads: cell.steps?.count,
  tlsHandshakeFailed: cell.incidentsByKind['tls-handshake-failed'],
  statuses: cell.runs.map((run) => run.status),
});

t.test('the cells of a plan, run apart and merged, make the table hunt matrix makes', async (t) => {
  const planPath = join(root, 'plan.json');
  const planned = await hunt([...matrixArgs, '--plan', planPath, '--json']);
  t.equal(planned.code, 0, planned.stderr.slice(-400));
  const { cells } = JSON.parse(planned.stdout) as { cells: Array<{ index: number; name: string }> };
  t.same(
    cells.map((cell) => cell.name),
    ['2.13.6 endpoints=3', '2.13.6 endpoints=4'],
  );

  // The stand-in scheduler: one process per cell, its index in the environment, one at a time.
  const spread = join(root, 'spread');
  for (const { index } of cells) {
    const job = await hunt(['run', '--cell', planPath, '--results', spread, '--json'], {
      JOB_COMPLETION_INDEX: String(index),
    });
    t.equal(job.code, 0, `cell ${index} met its expectations: ${job.stderr.slice(-400)}`);
  }
  const folders = (await readdir(spread)).map((name) => join(spread, name)).sort();
  t.equal(folders.length, 2, 'a run folder per cell');
  const merged = await hunt([
    'merge',
    ...folders,
    '--plan',
    planPath,
    '--out',
    join(root, 'merged'),
    '--json',
  ]);
  t.equal(merged.code, 0, merged.stderr.slice(-400));
  const fromJobs = JSON.parse(merged.stdout) as Matrix;

  const single = await hunt([...matrixArgs, '--results', join(root, 'single'), '--json']);
  t.equal(single.code, 0, single.stderr.slice(-400));
  const fromMatrix = JSON.parse(single.stdout) as Matrix;
  t.same(fromJobs.cells.map(verdictOf), fromMatrix.cells.map(verdictOf), 'the same verdicts and counts');
  // --reloads 2 with both masters is one step: one reload each; one failed handshake per master.
  t.match(fromJobs.cells.map(verdictOf), [
    { grid: { endpoints: 3 }, reloads: 2, tlsHandshakeFailed: 2, statuses: ['passed'] },
    { grid: { endpoints: 4 }, reloads: 2, tlsHandshakeFailed: 2, statuses: ['passed'] },
  ]);
  t.equal(fromJobs.missing, undefined, 'nothing missing');

  await rm(folders[1] as string, { recursive: true });
  const short = await hunt([
    'merge',
    folders[0] as string,
    '--plan',
    planPath,
    '--out',
    join(root, 'short'),
    '--json',
  ]);
  t.equal(short.code, 0, 'a missing cell is said, not a failure');
  const { missing, id } = { ...(JSON.parse(short.stdout) as Matrix), id: JSON.parse(planned.stdout).id };
  t.same(missing, [{ plan: id, cell: 1, name: '2.13.6 endpoints=4' }], 'the dead job is named');
});
