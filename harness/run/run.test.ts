import { spawnSync } from 'node:child_process';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import t from 'tap';
import { eachEvent, parseEvent, readHistory } from './history-reader.ts';
import { readRunManifest } from './manifest.ts';
import { Run } from './run.ts';

t.test('a run: its folder, run.json from start to finish, the history, derived randoms', async (t) => {
  const root = t.testdir();
  const run = await Run.create({
    name: 'unit test',
    scenario: 'canary',
    params: { endpoints: 3 },
    seed: 42,
    resultsDir: root,
  });
  t.match(run.id, /^\d{8}-\d{6}-unit-test-[0-9a-f]{4}$/);
  let meta = await readRunManifest(run.dir);
  t.match(meta, {
    scenario: 'canary',
    params: { endpoints: 3 },
    seed: 42,
    complete: false,
    outcome: null,
    host: { cores: Number },
  });
  t.match(meta.harness, { version: String, commit: String });
  await run.describe('stack', { masters: ['master1'] });
  t.same(run.random('storm')(), run.random('storm')(), 'one part, one sequence');
  t.not(run.random('storm')(), run.random('swarm')(), 'parts differ');
  t.equal(run.seedFor('proxy:master2'), run.seedFor('proxy:master2'));
  run.history.record('reload', 'reload-started', { master: 'master1' });
  run.keylog('swarm').write(Buffer.from('CLIENT_RANDOM a b\n'));
  await run.finish({ status: 'passed', exitCode: 0, complete: true });
  meta = await readRunManifest(run.dir);
  t.match(meta, {
    complete: true,
    outcome: { status: 'passed' },
    stack: { masters: ['master1'] },
    endedAt: String,
  });
  const events = await readHistory(join(run.dir, 'history.jsonl'));
  t.same(
    events.map((e) => e.type),
    ['reload-started', 'run-finished'],
  );
  t.equal(await readFile(join(run.dir, 'keys', 'swarm.keylog'), 'utf8'), 'CLIENT_RANDOM a b\n');
  run.history.record('late', 'ignored');
  t.equal((await readHistory(join(run.dir, 'history.jsonl'))).length, 2, 'nothing is written after the end');
});

t.test('a run disposed without finishing says it is incomplete', async (t) => {
  let dir = '';
  {
    await using run = await Run.create({ name: 'broken', resultsDir: t.testdir() });
    dir = run.dir;
  }
  t.match(await readRunManifest(dir), { complete: false, outcome: { status: 'error' } });
});

t.test(
  'a results folder that cannot be written is a clear error, and no folder claims completeness',
  async (t) => {
    const root = t.testdir({ file: 'x' });
    await t.rejects(Run.create({ name: 'x', resultsDir: join(root, 'file', 'sub') }), {
      code: 'HH_RESULTS_UNWRITABLE',
      message: /Cannot create a run folder.*--results or HH_RESULTS_DIR/,
    });
    const readOnly = join(root, 'ro');
    await mkdir(readOnly);
    await chmod(readOnly, 0o500);
    if (process.getuid?.() !== 0)
      await t.rejects(Run.create({ name: 'x', resultsDir: readOnly }), { code: 'HH_RESULTS_UNWRITABLE' });
    else {
      // root ignores permission bits: the same call as an unprivileged user (nobody), in a child.
      const attempt = `import { Run } from ${JSON.stringify(pathToFileURL(join(import.meta.dirname, 'run.ts')).href)};
        await Run.create({ name: 'x', resultsDir: process.argv[1] }).then(
          () => console.log('created'),
          (error) => console.log(error.code),
        );`;
      const child = spawnSync(process.execPath, ['--input-type=module', '-e', attempt, readOnly], {
        uid: 65534,
        gid: 65534,
        encoding: 'utf8',
        timeout: 30_000,
      });
      t.equal(child.stdout.trim(), 'HH_RESULTS_UNWRITABLE', 'as nobody, the folder is refused', {
        stderr: child.stderr.slice(-300),
      });
    }
    await t.rejects(Run.create({ name: 'x', seed: -1, resultsDir: root }), { code: 'HH_USAGE' });
  },
);

t.test('a results folder under /proc fails at once (recursive mkdir would spin there forever)', async (t) => {
  const started = performance.now();
  await t.rejects(Run.create({ name: 'x', resultsDir: '/proc/hh-nope' }), {
    code: 'HH_RESULTS_UNWRITABLE',
    message: /Cannot create a run folder in \/proc\/hh-nope \(ENOENT\)/,
  });
  t.ok(performance.now() - started < 2000, 'within 2 s');
});

t.test('the history reader skips a cut last line and garbage, and counts them', async (t) => {
  const dir = t.testdir();
  const path = join(dir, 'history.jsonl');
  const good = JSON.stringify({
    t: 1,
    at: '2026-11-21T10:00:00.000Z',
    source: 'reload',
    type: 'reload-started',
  });
  await writeFile(
    path,
    `${good}\nnot json\n[1]\n{"t":"x","at":"a","source":"s","type":"t"}\n${good}\n{"t":2,"at":"2026-11-21T10:0`,
  );
  const stats = { events: 0, skipped: 0 };
  const events = [];
  for await (const event of eachEvent(path, stats)) events.push(event);
  t.equal(events.length, 2);
  t.same(stats, { events: 2, skipped: 4 });
  t.equal(parseEvent(`{${' '.repeat(5 * 1024 * 1024)}}`), undefined, 'an overlong line is not parsed');
  await t.rejects(readHistory(join(dir, 'none.jsonl')), { code: 'HH_RUN_NOT_FOUND' });
});
