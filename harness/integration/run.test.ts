import { access, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { scenarioCatalog } from '../cli/scenarios.ts';
import { ensureEngine } from '../engine/docker-engine.ts';
import { silentProgress } from '../progress.ts';
import type { HistoryEvent } from '../run/history.ts';
import { readHistory } from '../run/history-reader.ts';
import { hunt, startHunt } from './cli.ts';
import { runObjects } from './leftovers.ts';

// `hunt run` end to end, as a user runs it: the real CLI in a child process, real stacks.
const { docker } = await ensureEngine(silentProgress);
const results = t.testdir();
const REPORT_FILES = [
  'run.json',
  'history.jsonl',
  'report.md',
  'summary.json',
  'timeline.svg',
  'timeline.png',
];

interface RunJson {
  dir: string;
  status: string;
  exitCode: number;
  incidents: Array<Record<string, unknown>>;
  expectations: Array<{ description: string; ok: boolean }>;
}

async function runJson(args: string[]): Promise<{ code: number; out: RunJson; stderr: string }> {
  const result = await hunt(['run', ...args, '--results', results, '--json']);
  return { code: result.code, out: JSON.parse(result.stdout) as RunJson, stderr: result.stderr };
}

/** This file's runs' containers and networks (other runs on the engine do not count). */
function labelled(): Promise<number> {
  return runObjects(docker, results);
}

// One version here: the canary on every catalogue version, with its capture, is capture.test.ts's
// job, and each image's version strings are images.test.ts's; this file checks the CLI's run.
for (const version of ['2.13.6']) {
  t.test(
    `hunt run canary on ${version}: caught on every master, exit 0, a complete run folder`,
    async (t) => {
      const { code, out, stderr } = await runJson(['canary', '--icinga', version, '--reloads', '6']);
      t.equal(code, 0, stderr.split('\n').slice(-5).join('\n'));
      t.equal(out.status, 'passed');
      t.same(
        out.expectations.map((e) => e.ok),
        [true],
      );
      const files = await readdir(out.dir);
      for (const file of REPORT_FILES) t.ok(files.includes(file), file);
      const runJsonFile = JSON.parse(await readFile(join(out.dir, 'run.json'), 'utf8'));
      t.match(runJsonFile, {
        complete: true,
        stack: { icingaVersion: version, opensslVersion: String, imageId: /^sha256:/ },
      });
      const report = await readFile(join(out.dir, 'report.md'), 'utf8');
      t.match(report, new RegExp(`\\(version: r?${version.replace(/\./g, '\\.')}`), 'the environment block');
      t.match(report, /excessive message size/);
      if (version !== '2.13.6') return;

      // The report re-derives every incident from history.jsonl alone: the same as the live run's.
      const live = [];
      for (const folder of (await readdir(join(out.dir, 'incidents'))).sort())
        live.push(JSON.parse(await readFile(join(out.dir, 'incidents', folder, 'incident.json'), 'utf8')));
      const before = await readFile(join(out.dir, 'summary.json'), 'utf8');
      const offline = await hunt(['report', out.dir, '--json']);
      t.equal(offline.code, 0, offline.stderr);
      const summary = JSON.parse(offline.stdout) as {
        incidents: Array<Record<string, unknown> & { folder: string; capture?: string }>;
      };
      t.same(
        summary.incidents.map(({ folder, capture, ...incident }) => incident),
        live,
        `hunt report finds the live incidents again (${live.map((i) => `${i.kind}@${i.node} x${i.count}`).join(', ')})`,
      );
      t.equal(await readFile(join(out.dir, 'summary.json'), 'utf8'), before, 'and rewrites the same summary');
      // The TLS incident's evidence (the canary may also open handshake-interrupted first: a
      // master that resets while our oversized chain is still being written).
      const tls = live.find((incident) => incident.kind === 'tls-handshake-failed');
      const folder = join(out.dir, 'incidents', String(tls?.id).padStart(3, '0'));
      const excerpt = await readFile(join(folder, `log-${tls?.node}.txt`), 'utf8');
      t.match(
        excerpt,
        /^> .*Client TLS handshake failed/m,
        'the evidence: the log line among its neighbours',
      );
    },
  );
}

t.test('hunt run canary with detection off misses it: exit 1, naming the expectation', async (t) => {
  const result = await hunt(['run', 'canary', '--reloads', '2', '--detectors', 'none', '--results', results]);
  t.equal(result.code, 1, result.stderr.split('\n').slice(-5).join('\n'));
  t.match(
    result.stdout,
    /FAILED[\s\S]*NOT MET\s+one tls-handshake-failed incident per master, with evidence: master1 has 0; master2 has 0/,
  );
  t.match(result.stdout, /report: .*report\.md/);
});

t.test('hunt run --replay makes the same reload schedule and the same toxic decisions', async (t) => {
  const args = ['flaky-network', '--param', 'endpoints=6', '--param', 'toxicity=50', '--param', 'latency=20'];
  const first = await runJson([...args, '--reloads', '6', '--seed', '4242']);
  t.equal(first.code, 0, first.stderr.split('\n').slice(-5).join('\n'));
  const again = await runJson(['--replay', first.out.dir]);
  t.equal(again.code, 0, again.stderr.split('\n').slice(-5).join('\n'));
  const [a, b] = [
    await readHistory(join(first.out.dir, 'history.jsonl')),
    await readHistory(join(again.out.dir, 'history.jsonl')),
  ];
  const schedule = (events: HistoryEvent[]) =>
    events.filter((e) => e.type === 'reload-started').map((e) => `${e.step}:${e.master}:${e.delayMs}`);
  t.same(schedule(b), schedule(a), 'the same steps, masters and delays');
  // A toxic is chosen for a connection when data first flows through it after the toxic exists:
  // compare the connections opened after the toxic was added that carried data in both runs.
  const decided = (events: HistoryEvent[]) => {
    const added = events.find((e) => e.type === 'toxic-added')?.t ?? Number.POSITIVE_INFINITY;
    const opened = new Set(
      events.filter((e) => e.type === 'connection-opened' && e.t > added).map((e) => e.connection),
    );
    const flowed = events
      .filter((e) => e.type === 'connection-closed' && opened.has(e.connection) && Number(e.downstream) > 0)
      .map((e) => e.connection as number);
    const applied = new Set(events.filter((e) => e.type === 'toxic-applied').map((e) => e.connection));
    return new Map(flowed.map((id) => [id, applied.has(id)]));
  };
  const [da, db] = [decided(a), decided(b)];
  const both = [...da.keys()].filter((id) => db.has(id));
  t.ok(both.length >= 5, `${both.length} connections carried data in both runs`);
  t.ok(
    both.some((id) => da.get(id)) && both.some((id) => !da.get(id)),
    'at toxicity 50% some got the toxic and some did not',
  );
  t.same(
    both.map((id) => da.get(id)),
    both.map((id) => db.get(id)),
    `each of them got the toxic, or not, alike (${both.filter((id) => da.get(id)).length} of ${both.length})`,
  );
  const meta = JSON.parse(await readFile(join(again.out.dir, 'run.json'), 'utf8'));
  t.match(meta, {
    scenario: 'flaky-network',
    seed: 4242,
    params: { endpoints: 6, toxicity: 50 },
    limits: { steps: 6, unit: 'reloads' },
  });
});

/** A reload storm started with the CLI, and a way to wait until it has done `reloads` reloads. */
function startStorm() {
  const run = startHunt([
    'run',
    'reload-storm',
    '--param',
    'endpoints=10',
    '--param',
    'agents=0',
    '--reloads',
    '400',
    '--results',
    results,
    '--json',
  ]);
  /** Resolves with the run folder once the storm has finished `reloads` reloads (deadline: 3 min). */
  const reloaded = async (reloads: number): Promise<string> => {
    const deadline = Date.now() + 180_000;
    while (Date.now() < deadline) {
      const dir = /run \S+: .* in (\S+)/.exec(run.output().stderr)?.[1];
      if (dir) {
        const text = await readFile(join(dir, 'history.jsonl'), 'utf8').catch(() => '');
        if ((text.match(/"reload-finished"/g) ?? []).length >= reloads) return dir;
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    throw new Error(`no ${reloads} reloads within 3 min: ${run.output().stderr.slice(-500)}`);
  };
  return { ...run, reloaded };
}

t.test(
  'SIGINT mid-storm: exit 130, a complete report that says it was interrupted, nothing left',
  async (t) => {
    const run = startStorm();
    const dir = await run.reloaded(4);
    run.child.kill('SIGINT');
    const { code } = await run.done;
    t.equal(code, 130, run.output().stderr.slice(-400));
    t.match(JSON.parse(run.output().stdout), { status: 'interrupted' });
    const meta = JSON.parse(await readFile(join(dir, 'run.json'), 'utf8'));
    t.match(meta, { complete: true, outcome: { status: 'interrupted', exitCode: 130 } });
    t.match(await readFile(join(dir, 'report.md'), 'utf8'), /\*\*INTERRUPTED/);
    t.equal(await labelled(), 0, 'no labelled container or network left');
    const clean = await hunt(['clean', '--json']);
    t.match(JSON.parse(clean.stdout), { containers: [], networks: [] }, 'hunt clean finds nothing');
  },
);

t.test('two runs on one engine at once: hunt clean during them removes neither', async (t) => {
  const first = startStorm();
  const second = startStorm();
  const [firstDir, secondDir] = await Promise.all([first.reloaded(2), second.reloaded(2)]);
  const before = await labelled();
  const clean = await hunt(['clean', '--json']);
  t.equal(clean.code, 0, clean.stderr);
  const result = JSON.parse(clean.stdout) as { kept: Array<{ name: string }> };
  t.equal(await labelled(), before, 'nothing of the live runs removed');
  const ids = [firstDir, secondDir].map((dir) => dir.split('/').at(-1) as string);
  t.equal(
    result.kept.filter((k) => ids.some((id) => k.name.includes(id))).length,
    before,
    'every object of both runs listed as kept',
  );
  // Both go on reloading after the clean, then stop gracefully with everything in place.
  await Promise.all([first.reloaded(4), second.reloaded(4)]);
  first.child.kill('SIGINT');
  second.child.kill('SIGINT');
  t.equal((await first.done).code, 130, 'the first stops gracefully', {
    stderr: first.output().stderr.slice(-400),
  });
  t.equal((await second.done).code, 130, 'the second too', { stderr: second.output().stderr.slice(-400) });
  for (const dir of [firstDir, secondDir])
    t.notMatch(
      await readFile(join(dir, 'report.md'), 'utf8'),
      /error/i,
      'no run failed for a lost container',
    );
  t.equal(await labelled(), 0);
});

t.test(
  'SIGKILL mid-storm: hunt report renders it marked incomplete; hunt clean removes the leftovers',
  async (t) => {
    const run = startStorm();
    const dir = await run.reloaded(4);
    run.child.kill('SIGKILL');
    await run.done;
    const report = await hunt(['report', dir, '--json']);
    t.equal(report.code, 1, 'an incomplete run is not a pass');
    t.match(JSON.parse(report.stdout), {
      status: 'incomplete',
      complete: false,
      steps: { unit: 'reloads', ok: Number },
    });
    await access(join(dir, 'timeline.png'));
    t.match(await readFile(join(dir, 'report.md'), 'utf8'), /\*\*INCOMPLETE/);
    t.ok((await labelled()) > 0, 'the killed run left its containers');
    const clean = await hunt(['clean']);
    t.equal(clean.code, 0);
    t.equal(await labelled(), 0, 'hunt clean removed them');
  },
);

t.test('bad input: exit 2, one clear paragraph, and no run folder', async (t) => {
  const before = (await readdir(results)).length;
  const cases: Array<[string[], RegExp]> = [
    [
      ['nope'],
      new RegExp(
        `\\[HH_SCENARIO_UNKNOWN\\] Unknown scenario "nope"\\. Known: ${(await scenarioCatalog.all()).map((scenario) => scenario.name).join(', ')}\\.`,
      ),
    ],
    [
      ['canary', '--param', 'colour=red'],
      /\[HH_PARAM_INVALID\] canary has no parameter "colour"\. Its parameters: endpoints, padding/,
    ],
    [
      ['canary', '--param', 'padding=7'],
      /\[HH_PARAM_INVALID\] canary: padding is a whole number from 130 to 400/,
    ],
    [['canary', '--duration', 'soon'], /\[HH_USAGE\] "soon" is not a duration/],
    [['canary', '--icinga', '9.9.9'], /\[HH_VERSION_UNKNOWN\]/],
    [
      ['canary', '--results', '/proc/version/x'],
      /\[HH_RESULTS_UNWRITABLE\] Cannot create a run folder in \/proc\/version\/x/,
    ],
    [
      ['canary', '--results', '/proc/nope'],
      /\[HH_RESULTS_UNWRITABLE\] Cannot create a run folder in \/proc\/nope \(ENOENT\)/,
    ],
  ];
  for (const [args, message] of cases) {
    const result = await hunt([
      'run',
      ...args,
      ...(args.includes('--results') ? [] : ['--results', results]),
    ]);
    t.equal(result.code, 2, args.join(' '));
    t.match(result.stderr, message);
    t.equal(result.stderr.trim().split('\n').length, 1, 'one paragraph');
  }
  t.equal((await readdir(results)).length, before, 'no run folder was created');
});
