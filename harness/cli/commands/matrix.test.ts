import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { readPlan } from '../../runner/matrix-plan.ts';
import { huntInProcess as hunt } from '../../test-kits/hunt-in-process.ts';

/** Two versions, two grid values, two repeats: eight cells. */
const matrixOfTwo = [
  'matrix',
  'canary',
  '--icinga',
  '2.12.3,2.13.6',
  '--grid',
  'endpoints=5,6',
  '--repeat',
  '2',
  '--reloads',
  '2',
  '--seed',
  '9',
];

t.test('hunt matrix --plan writes every cell down and runs none', async (t) => {
  const path = join(t.testdir(), 'plan.json');
  const result = await hunt([...matrixOfTwo, '--plan', path, '--json']);
  t.equal(result.code, 0, result.stdout);
  const plan = await readPlan(path);
  const printed = JSON.parse(result.stdout) as { id: string; cells: Array<{ index: number; name: string }> };
  t.equal(printed.id, plan.id);
  // Repeat by repeat, combination by combination, the targets side by side: as hunt matrix runs them.
  t.same(
    plan.cells.map((cell) => cell.name),
    [
      '2.12.3 endpoints=5 #1',
      '2.13.6 endpoints=5 #1',
      '2.12.3 endpoints=6 #1',
      '2.13.6 endpoints=6 #1',
      '2.12.3 endpoints=5 #2',
      '2.13.6 endpoints=5 #2',
      '2.12.3 endpoints=6 #2',
      '2.13.6 endpoints=6 #2',
    ],
  );
  t.same(
    printed.cells,
    plan.cells.map(({ index, name }) => ({ index, name })),
  );
  t.same(plan.cells[5]?.args, [
    'run',
    'canary',
    '--seed',
    '10',
    '--param',
    'endpoints=5',
    '--icinga',
    '2.13.6',
    '--steps',
    '2',
  ]);
  t.match(plan, { scenario: 'canary', system: 'icinga', seed: 9 });
  const again = join(t.testdirName, 'again.json');
  await hunt([...matrixOfTwo, '--plan', again]);
  t.equal((await readPlan(again)).id, plan.id, 'the same matrix, the same plan id');
  t.notOk(
    (await readFile(path, 'utf8')).includes('--results'),
    'where the results go is for whoever runs the cell to say',
  );
});

t.test('--plan refuses what belongs to running and comparing, and a matrix it cannot run', async (t) => {
  const path = join(t.testdir(), 'plan.json');
  const refused = async (args: string[], message: RegExp) => {
    const result = await hunt(['matrix', 'canary', '--icinga', '2.13.6', '--plan', path, ...args, '--json']);
    t.equal(result.code, 2, args.join(' '));
    t.match(JSON.parse(result.stdout).error.message, message);
  };
  await refused(
    ['--baseline', 'b.json', '--engines', 'unix:///var/run/docker.sock', '--results', 'r'],
    /^--plan only writes the cells down: leave out --baseline, --engines, --results \(each cell's run takes --results; hunt merge --baseline compares the runs later\)\.$/,
  );
  await refused(['--param', 'bogus=1'], /canary has no parameter "bogus"/);
  await t.rejects(readFile(path), { code: 'ENOENT' }, 'nothing written for a refused matrix');
});
