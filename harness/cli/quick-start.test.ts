import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { projectRoot, resultsDir } from '../paths.ts';

/** The README's quick-start block: the commands a newcomer types, comments dropped. */
function quickStartLines(): string[] {
  const readme = readFileSync(join(projectRoot, 'README.md'), 'utf8');
  const block = /## Quick start[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme)?.[1];
  if (!block) throw new Error('README.md has no sh block under "## Quick start"');
  return block
    .split('\n')
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .filter(Boolean);
}

/** What .ci/run executes: every line that is not a comment, a shell option or the cd to the checkout. */
function ciCommands(): string[] {
  return readFileSync(join(projectRoot, '.ci', 'run'), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#') && !/^set -|^cd "\$\(dirname/.test(line));
}

t.test('.ci/run runs the README test line as typed, and nothing else', async (t) => {
  const testLine = quickStartLines().find((line) => /\bnpm test\b/.test(line));
  t.ok(testLine, 'the quick start has a test line');
  t.same(ciCommands(), [testLine], 'CI types exactly what the README tells a newcomer');
});

t.test('the quick start has the main job and the test line, each doing its own set-up', async (t) => {
  const lines = quickStartLines();
  t.same(lines, ['npm ci && npm start', 'npm ci && npm test']);
  const scripts = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')).scripts;
  t.match(scripts.start, /hunt\.ts run reload-storm/);
  t.match(scripts.test, /hunt\.ts doctor/, 'npm test finds or starts the engine itself');
});

t.test('npx hunt prints no npm warnings where the system Node is older than the pinned one', async (t) => {
  // A newcomer's shell: the project's node_modules/.bin (and so its pinned Node) not on PATH, and
  // an empty npm cache: npx links the project into the cache on its first call, which is where
  // npm checked the engines range (EBADENGINE).
  const path = (process.env.PATH ?? '')
    .split(':')
    .filter((entry) => !entry.includes('node_modules'))
    .join(':');
  const result = spawnSync('npx', ['--no-install', 'hunt', '--help'], {
    cwd: projectRoot,
    env: { ...process.env, PATH: path, npm_config_loglevel: undefined, npm_config_cache: t.testdir() },
    encoding: 'utf8',
    timeout: 60_000,
  });
  t.equal(result.status, 0, result.stderr);
  t.match(result.stdout, /Usage: hunt <command>/);
  t.notMatch(result.stderr, /npm warn/i, 'no EBADENGINE or other npm warning');
});

t.test("the tests write their runs outside the project's results/, where users keep theirs", async (t) => {
  const dir = resultsDir();
  t.notOk(dir.startsWith(projectRoot), `tests write to ${dir}`);
  const tap = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')).tap as {
    'node-arg'?: string[];
  };
  t.match(
    tap['node-arg'],
    ['--import=./harness/test-kits/test-results.ts'],
    'every test process preloads it',
  );
});
