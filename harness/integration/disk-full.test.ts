import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { diskSpace, reserveFor } from '../run/disk-guard.ts';
import type { HistoryEvent } from '../run/history.ts';
import { eachEvent, type ReadStats } from '../run/history-reader.ts';
import { HISTORY_FILE, Run } from '../run/run.ts';
import { hunt } from './cli.ts';

const MiB = 1024 * 1024;

/** A 32 MiB tmpfs of its own: a small disk the test can fill without touching the machine's. */
async function smallDisk(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'hh-disk-full-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=32m', 'tmpfs', dir]);
  t.teardown(async () => {
    execFileSync('umount', [dir]);
    await rm(dir, { recursive: true, force: true });
  });
  return dir;
}

async function readHistory(dir: string): Promise<{ events: HistoryEvent[]; stats: ReadStats }> {
  const stats: ReadStats = { events: 0, skipped: 0 };
  const events: HistoryEvent[] = [];
  for await (const event of eachEvent(join(dir, HISTORY_FILE), stats)) events.push(event);
  return { events, stats };
}

/** Fills the disk until `leaveBytes` are free. */
async function fill(dir: string, leaveBytes: number): Promise<string> {
  const { freeBytes } = await diskSpace(dir);
  const filler = join(dir, 'filler');
  await writeFile(filler, Buffer.alloc(Math.max(0, freeBytes - leaveBytes)));
  return filler;
}

t.test(
  'a full results disk (a tmpfs of its own: needs root to mount)',
  { skip: process.getuid?.() !== 0 && 'mounting a tmpfs needs root' },
  async (t) => {
    t.test('a run on a filling disk stops with HH_DISK_FULL; history whole; report rendered', async (t) => {
      const disk = await smallDisk(t);
      const { totalBytes } = await diskSpace(disk);
      // Room for the run's start and a few dozen reloads' history, then the reserve.
      await fill(disk, reserveFor(totalBytes) + 2 * MiB);
      const result = await hunt([
        'run',
        'reload-storm',
        '--param',
        'endpoints=100',
        '--param',
        'agents=0',
        '--reloads',
        '2000',
        '--capture',
        'off',
        '--results',
        disk,
        '--json',
      ]);
      t.equal(result.code, 2, 'exit 2: an environment problem to fix', { stderr: result.stderr.slice(-600) });
      const out = JSON.parse(result.stdout) as {
        dir: string;
        status: string;
        error: { code: string; message: string };
      };
      t.match(out, { status: 'error', error: { code: 'HH_DISK_FULL' } });
      t.match(out.error.message, /disk .* is full.*hunt report/s, 'says what happened and what to do');
      t.match(result.stderr, /HH_DISK_FULL/);

      const { events, stats } = await readHistory(out.dir);
      t.equal(stats.skipped, 0, 'every history line is whole');
      t.match(events.at(-1), { source: 'run', type: 'run-finished', status: 'error' });
      t.ok(
        events.some((event) => event.type === 'reload-finished'),
        'the storm ran before the disk filled',
      );
      const meta = JSON.parse(await readFile(join(out.dir, 'run.json'), 'utf8'));
      t.match(meta, { complete: true, outcome: { status: 'error', exitCode: 2 } });
      t.match(await readFile(join(out.dir, 'report.md'), 'utf8'), /HH_DISK_FULL|disk .* is full/);
      const report = await hunt(['report', out.dir, '--json']);
      t.equal(report.code, 1, 'hunt report renders it (a run that broke off is not a pass)', {
        stderr: report.stderr,
      });
    });

    t.test('when a write fails (ENOSPC), the history stops whole up to its last line', async (t) => {
      const disk = await smallDisk(t);
      await fill(disk, 256 * 1024);
      const run = await Run.create({ name: 'enospc', resultsDir: disk });
      const errors: Error[] = [];
      run.onWriteError((error) => errors.push(error));
      const runJson = await readFile(run.path('run.json'), 'utf8');
      // Events until the disk refuses (bounded: the space left holds ~2,000 of them).
      const padding = 'x'.repeat(200);
      for (let i = 0; i < 100_000 && errors.length === 0; i++) {
        run.history.record('test', 'filler', { i, padding });
        if (i % 100 === 0) await run.history.flushed();
      }
      t.match(errors[0], { code: 'ENOSPC' }, 'the full disk is reported, not thrown');
      await t.rejects(run.describe('detectors', ['late']), { code: 'ENOSPC' });
      t.equal(await readFile(run.path('run.json'), 'utf8'), runJson, 'run.json keeps its last whole version');
      await run.finish({ status: 'error', exitCode: 2, complete: false }).catch(() => undefined);
      const { events, stats } = await readHistory(run.dir);
      t.ok(stats.skipped <= 1, 'at most the cut last line is skipped');
      t.same(
        events.map((event) => event.i),
        events.map((_, index) => index),
        'every whole line is there, in order',
      );
    });
  },
);
