import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { SCENARIOS_DIR, ScenarioCatalog } from '../runner/scenario-registry.ts';
import { scenarioCatalog } from './scenarios.ts';

t.test('every file in scenarios/ is listed, named as its scenario, with its story', async (t) => {
  const files = (await readdir(SCENARIOS_DIR)).filter((file) => file.endsWith('.ts') && file !== 'index.ts');
  const listed = await scenarioCatalog.all();
  t.same(
    listed.map((scenario) => `${scenario.name}.ts`),
    files.sort(),
    'a scenario file left out of scenarios/index.ts (or one named apart from its file) fails here',
  );
  for (const scenario of listed) t.ok(scenario.story, `${scenario.name} has its story (its leading comment)`);
});

t.test('a name it does not know: HH_SCENARIO_UNKNOWN naming those it does', async (t) => {
  await t.rejects(scenarioCatalog.find('nope'), {
    code: 'HH_SCENARIO_UNKNOWN',
    message: /^Unknown scenario "nope"\. Known: canary, cert-size-sweep, .*stunnel-freeze\. See: hunt list$/,
  });
  const all = await scenarioCatalog.all();
  t.throws(() => new ScenarioCatalog([...all, ...all]), {
    message: 'scenario "canary" is listed twice',
  });
});

t.test(
  "a file of the user's own: loaded, checked, and marked with its path for a matrix's cells",
  async (t) => {
    const dir = t.testdir();
    const own = join(dir, 'mine.ts');
    await writeFile(
      own,
      [
        '/** My own hunt. */',
        `import { defineScenario } from '${join(SCENARIOS_DIR, '..', 'harness', 'index.ts')}';`,
        `import canary from '${join(SCENARIOS_DIR, 'canary.ts')}';`,
        "export default defineScenario({ ...canary, name: 'mine', story: undefined, run: async () => {} });",
      ].join('\n'),
    );
    const mine = await scenarioCatalog.find(own);
    t.match(mine, { name: 'mine', file: own, story: 'My own hunt.' });
    await writeFile(join(dir, 'empty.ts'), 'export const x = 1;\n');
    await t.rejects(scenarioCatalog.find(join(dir, 'empty.ts')), {
      code: 'HH_SCENARIO_UNKNOWN',
      message: /does not default-export a scenario/,
    });
    await writeFile(join(dir, 'nosystem.ts'), "export default { name: 'x', run: async () => {} };\n");
    await t.rejects(scenarioCatalog.find(join(dir, 'nosystem.ts')), {
      message: /names no system under test/,
    });
    await t.rejects(scenarioCatalog.find(join(dir, 'missing.ts')), { message: /^Cannot load scenario / });
  },
);
