import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { ErrorCodes } from '../errors.ts';
import { cellOf, makePlan, readPlan, writePlan } from './matrix-plan.ts';

const cells = [
  { index: 0, name: '2.13.6', args: ['run', 'canary', '--seed', '5', '--icinga', '2.13.6'] },
  { index: 1, name: '2.14.6', args: ['run', 'canary', '--seed', '5', '--icinga', '2.14.6'] },
];

t.test('a plan written and read back is the same; its id is its cells', async (t) => {
  const plan = makePlan({ scenario: 'canary', system: 'icinga', seed: 5, cells });
  t.match(plan.id, /^canary-[0-9a-f]{12}$/);
  t.equal(
    makePlan({ scenario: 'canary', system: 'icinga', seed: 5, cells }).id,
    plan.id,
    'same cells, same id',
  );
  t.not(
    makePlan({ scenario: 'canary', system: 'icinga', seed: 6, cells: cells.slice(0, 1) }).id,
    plan.id,
    'other cells, another id',
  );
  const path = join(t.testdir(), 'plan.json');
  await writePlan(path, plan);
  t.same(await readPlan(path), plan);
});

t.test('a cell by its index, or by the indexed job that runs it', async (t) => {
  const plan = makePlan({ scenario: 'canary', system: 'icinga', seed: 5, cells });
  t.equal(cellOf(plan, '1', 'p.json').name, '2.14.6');
  const saved = process.env.JOB_COMPLETION_INDEX;
  t.teardown(() => {
    if (saved === undefined) delete process.env.JOB_COMPLETION_INDEX;
    else process.env.JOB_COMPLETION_INDEX = saved;
  });
  process.env.JOB_COMPLETION_INDEX = '0';
  t.equal(cellOf(plan, undefined, 'p.json').name, '2.13.6', 'JOB_COMPLETION_INDEX');
  t.equal(cellOf(plan, '1', 'p.json').name, '2.14.6', 'an index given wins');
  delete process.env.JOB_COMPLETION_INDEX;
  t.throws(() => cellOf(plan, undefined, 'p.json'), {
    code: ErrorCodes.USAGE,
    message:
      'Which cell of p.json? Give its index (hunt run --cell p.json 0), or run it as an indexed job (JOB_COMPLETION_INDEX).',
  });
  for (const bad of ['2', '-1', 'one', '1.0'])
    t.throws(() => cellOf(plan, bad, 'p.json'), {
      code: ErrorCodes.USAGE,
      message: `p.json has cells 0 to 1, not "${bad}".`,
    });
});

t.test('what is not a plan is refused, saying what a plan is', async (t) => {
  const dir = t.testdir();
  const plan = makePlan({ scenario: 'canary', system: 'icinga', seed: 5, cells });
  const refused = async (name: string, content: string | undefined, message: RegExp) => {
    const path = join(dir, name);
    if (content !== undefined) await writeFile(path, content);
    await t.rejects(readPlan(path), { code: ErrorCodes.PLAN_INVALID, message }, name);
  };
  await refused(
    'missing.json',
    undefined,
    /^Cannot read the plan .*missing\.json \(ENOENT\): write one with/,
  );
  await refused('garbage.json', '{not json', /garbage\.json is not JSON \(/);
  await refused(
    'matrix.json',
    JSON.stringify({ kind: 'handshake-hunter-matrix', cells: [] }),
    /is not a plan of hunt's/,
  );
  await refused('empty.json', JSON.stringify({ ...plan, cells: [] }), /is not a plan of hunt's/);
  await refused(
    'renumbered.json',
    JSON.stringify({
      ...plan,
      cells: [
        { ...cells[1], index: 0 },
        { ...cells[0], index: 0 },
      ],
    }),
    /cells numbered from 0/,
  );
  await refused(
    'not-a-run.json',
    JSON.stringify({ ...plan, cells: [{ index: 0, name: 'x', args: ['clean', '--all'] }] }),
    /is not a plan of hunt's/,
  );
  t.equal(await readFile(join(dir, 'garbage.json'), 'utf8'), '{not json', 'a refused plan is left as it was');
});
