/**
 * hunt soak, end to end. In the suite: a short soak (45 s) under a 256 MB cap, ended by its
 * duration. Opt-in, with SOAK_DURATION=2h30m (npm run test:soak-night; 20 minutes or more): the same
 * checks over that long, ended by Ctrl-C as a user ends a night's soak, plus the harness's RSS
 * trend under 5% an hour after the first 15 minutes, the history and the capture rings within
 * their budgets, and a soak killed with SIGKILL cleaned up by hunt clean.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { parseDuration } from '../duration.ts';
import { ensureEngine } from '../engine/docker-engine.ts';
import { silentProgress } from '../progress.ts';
import type { HarnessFootprint } from '../report/footprint.ts';
import { eachEvent } from '../run/history-reader.ts';
import { folderBytes } from '../run/run-folder.ts';
import { budgetFor } from '../runner/disk-budget.ts';
import { hunt, startHunt } from './cli.ts';
import { runObjects } from './leftovers.ts';

const { docker } = await ensureEngine(silentProgress);
const durationText = process.env.SOAK_DURATION ?? '45s';
const durationMs = parseDuration(durationText);
const long = durationMs >= 20 * 60_000;
const capBytes = long ? 1_000_000_000 : 256 * 1024 * 1024;
const results = t.testdir();

/** This file's runs' containers and networks (other runs on the engine do not count). */
function labelled(): Promise<number> {
  return runObjects(docker, results);
}

function soakArgs(extra: string[] = []): string[] {
  return [
    'soak',
    'reload-storm',
    '--duration',
    // A long soak is ended by Ctrl-C at SOAK_DURATION; its own duration is only the backstop.
    long ? `${Math.round(durationMs / 1000) + 900}s` : durationText,
    '--disk-cap',
    String(capBytes),
    '--report-every',
    long ? '5m' : '20s',
    '--param',
    `endpoints=${long ? 100 : 20}`,
    '--param',
    `agents=${long ? 1 : 0}`,
    '--results',
    results,
    '--json',
    ...extra,
  ];
}

t.test(`hunt soak for ${durationText}: within its cap, reports refreshed, nothing left`, async (t) => {
  const soak = startHunt(soakArgs());
  // Sample the run folder's and the rings' sizes every 5 s while it runs (bounded by its end).
  const sizes: number[] = [];
  const rings: number[] = [];
  let dir: string | undefined;
  const sampler = setInterval(async () => {
    dir ??= /run \S+: .* in (\S+)/.exec(soak.output().stderr)?.[1];
    if (dir) sizes.push(await folderBytes(dir));
    if (dir) rings.push(await folderBytes(join(dir, 'captures')));
  }, 5000);
  let interruptedAt: number | undefined;
  const interrupt = setTimeout(() => {
    interruptedAt = performance.now();
    soak.child.kill('SIGINT');
  }, durationMs);
  if (!long) clearTimeout(interrupt);
  const done = await soak.done;
  const exitMs = interruptedAt === undefined ? undefined : performance.now() - interruptedAt;
  clearTimeout(interrupt);
  clearInterval(sampler);
  const out = JSON.parse(done.stdout) as { dir: string; status: string; incidents: unknown[] };
  // A reload storm on a healthy stack finds nothing: a soak that opens incidents fails here.
  if (long) {
    t.equal(done.code, 130, 'Ctrl-C ends a soak: exit 130', { stderr: done.stderr.slice(-800) });
    t.equal(out.status, 'interrupted');
    t.ok((exitMs ?? Infinity) < 30_000, `and it was down ${Math.round(exitMs ?? 0)} ms after SIGINT`);
  } else {
    t.equal(done.code, 0, 'a soak ends by its duration, every expectation met', {
      stderr: done.stderr.slice(-800),
    });
    t.equal(out.status, 'passed');
  }
  t.same(out.incidents, [], 'no incident');
  const meta = JSON.parse(await readFile(join(out.dir, 'run.json'), 'utf8'));
  t.match(meta, { complete: true, limits: { diskCapBytes: capBytes } });
  const budget = budgetFor(capBytes);
  t.ok(sizes.length > 5, `${sizes.length} size samples`);
  const peak = Math.max(...sizes, await folderBytes(out.dir));
  t.ok(peak <= capBytes, `peak ${peak} bytes within the ${capBytes}-byte cap`);
  const refreshes = (done.stderr.match(/report refreshed/g) ?? []).length;
  const expectedRefreshes = Math.floor(durationMs / (long ? 300_000 : 20_000)) - 1;
  t.ok(refreshes >= expectedRefreshes, `report.md refreshed ${refreshes} times during the soak`);

  let reloads = 0;
  let failed = 0;
  // Each reload by its step and master: which ones started and never ended.
  const open = new Map<string, number>();
  let lastStep = -1;
  for await (const event of eachEvent(join(out.dir, 'history.jsonl'))) {
    const key = `${event.step}|${event.master}`;
    if (event.type === 'reload-started') {
      open.set(key, Number(event.step));
      lastStep = Math.max(lastStep, Number(event.step));
    }
    if (event.type === 'reload-finished') reloads++;
    if (event.type === 'reload-failed') failed++;
    if (event.type === 'reload-finished' || event.type === 'reload-failed') open.delete(key);
  }
  // How many fit in the time is the machine's business (bench:reload measures it); that each one
  // started was verified, none failed, and the duration cut only the step in flight is ours.
  t.ok(reloads >= 1, `${reloads} verified reloads`);
  t.equal(failed, 0, 'no reload failed');
  const cutSteps = [...new Set(open.values())];
  t.ok(
    cutSteps.every((step) => step === lastStep),
    `only the last step's reloads were cut short (cut: ${cutSteps.join(', ') || 'none'}; last ${lastStep})`,
  );
  if (long) t.ok(reloads >= (durationMs / 3_600_000) * 500, `at least 500 an hour over ${durationText}`);
  // The report's hours and trend are for runs of an hour or more (SOAK_DURATION=40m has none).
  if (long && durationMs >= 75 * 60_000) {
    // The report's own figure (summary.json), from the history's samples.
    const summary = JSON.parse(await readFile(join(out.dir, 'summary.json'), 'utf8'));
    const trend = (summary.harness as HarnessFootprint | null)?.rssTrend;
    t.ok(trend, 'the report has the harness over time');
    t.ok(
      (trend?.percentPerHour ?? Infinity) < 5,
      `harness RSS after 15 minutes: ${trend?.percentPerHour}% of its mean an hour (${trend?.kbPerHour} KB/h, ${trend?.samples} samples)`,
    );
    t.match(await readFile(join(out.dir, 'report.md'), 'utf8'), /## The harness over time/);
  }
  if (long) {
    const historyBytes = (await stat(join(out.dir, 'history.jsonl'))).size;
    t.ok(
      historyBytes <= budget.historyBytes,
      `history.jsonl ${historyBytes} bytes within its ${budget.historyBytes}`,
    );
    // tcpdump closes a file once it has passed its size: each may run over by a packet.
    const ringCap = 2 * budget.ring.files * (budget.ring.fileMb * 1e6 + 65_536);
    t.ok(Math.max(...rings) <= ringCap, `the rings at most ${Math.max(...rings)} bytes of their ${ringCap}`);
  }
  t.equal(await labelled(), 0, 'no container or network left');
});

t.test(
  'a soak killed with SIGKILL: hunt clean leaves nothing labelled, hunt report renders it',
  { skip: !long && 'the run suite covers SIGKILL; this is for the long soak' },
  async (t) => {
    const soak = startHunt(soakArgs());
    const deadline = Date.now() + 300_000;
    let dir: string | undefined;
    while (Date.now() < deadline) {
      dir = /run \S+: .* in (\S+)/.exec(soak.output().stderr)?.[1];
      const history = dir ? await readFile(join(dir, 'history.jsonl'), 'utf8').catch(() => '') : '';
      if ((history.match(/"reload-finished"/g) ?? []).length >= 5) break;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    soak.child.kill('SIGKILL');
    await soak.done;
    t.ok(dir, 'the soak had started');
    t.ok((await labelled()) > 0, 'it left its containers');
    t.equal((await hunt(['clean'])).code, 0);
    t.equal(await labelled(), 0, 'hunt clean removed them');
    const report = await hunt(['report', dir as string, '--json']);
    t.equal(report.code, 1, 'incomplete is not a pass');
    t.match(JSON.parse(report.stdout), { status: 'incomplete' });
  },
);
