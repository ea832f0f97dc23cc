import t from 'tap';
import { scenarioCatalog } from '../cli/scenarios.ts';
import { ErrorCodes } from '../errors.ts';
import { gridCombinations } from './matrix.ts';
import { prepareRun } from './runner.ts';

t.test('grids cross each other: every combination once, in the order given', async (t) => {
  t.same(gridCombinations([], []), [[]], 'no grid: one cell per target');
  t.same(
    gridCombinations(
      [
        { name: 'rate', values: ['10', '100'] },
        { name: 'load', values: ['0', '4'] },
      ],
      ['swaps=1000'],
    ),
    [
      ['rate=10', 'load=0'],
      ['rate=10', 'load=4'],
      ['rate=100', 'load=0'],
      ['rate=100', 'load=4'],
    ],
  );
});

t.test('a grid that cannot be meant is refused with what to do', async (t) => {
  t.throws(() => gridCombinations([{ name: 'load', values: [] }], []), { code: ErrorCodes.USAGE });
  t.throws(
    () =>
      gridCombinations(
        [
          { name: 'load', values: ['1'] },
          { name: 'load', values: ['2'] },
        ],
        [],
      ),
    { message: /given twice/ },
  );
  t.throws(() => gridCombinations([{ name: 'load', values: ['1', '2'] }], ['load=4']), {
    message: /both a --param and a --grid/,
  });
});

t.test('every scenario can run under hunt matrix, over every version of its system', async (t) => {
  const all = await scenarioCatalog.all();
  t.ok(all.length >= 10, `the scenarios (${all.map((scenario) => scenario.name).join(', ')})`);
  for (const scenario of all) {
    const { name } = scenario;
    const targets = scenario.system.versions.map((version) => ({ version }));
    for (const target of targets) {
      // What runMatrix checks for each cell before the first one starts.
      const prepared = await prepareRun({
        scenario,
        params: [],
        ...target,
        versionOption: scenario.system.name,
      });
      t.equal(prepared.scenario.name, name, `${name} on ${scenario.system.name} ${target.version}`);
    }
  }
});
