import { execFile } from 'node:child_process';
import { link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { systems } from '../cli/systems.ts';
import { ErrorCodes } from '../errors.ts';
import { writeFixtureRun } from '../test-kits/fixture-run.ts';
import { writeRandomPcapng } from '../test-kits/pcapng.ts';
import { writeBundle } from './bundle.ts';
import { writeReport } from './report-writer.ts';

const exec = promisify(execFile);

/** A run with two incidents whose captures are ~1 MB (cut streams) and ~3 MB (windows) each. */
async function runWithCaptures(root: string) {
  const run = await writeFixtureRun(root, { barriers: [900, 950, 1000], tlsFailures: 2 });
  await writeReport(run.dir, systems);
  for (const id of ['001', '002']) {
    const folder = join(run.dir, 'incidents', id);
    await mkdir(folder, { recursive: true });
    await writeRandomPcapng(join(folder, 'capture.pcapng'), 700);
    await writeRandomPcapng(join(folder, 'window.pcapng'), 2100);
    await writeFile(join(folder, 'capture.txt'), 'Certificate (11), 172968 bytes declared\n');
  }
  await mkdir(join(run.dir, 'keys'), { recursive: true });
  await writeFile(join(run.dir, 'keys', 'swarm.keylog'), 'CLIENT_RANDOM 00 11\n');
  return run;
}

async function list(archive: string): Promise<string[]> {
  return (await exec('tar', ['-tzf', archive])).stdout.split('\n').filter(Boolean);
}

t.test('a bundle that fits takes everything but key logs', async (t) => {
  const run = await runWithCaptures(t.testdir());
  const result = await writeBundle(run.dir);
  t.same(result.leftOut, []);
  const names = await list(result.path);
  t.ok(names.includes(`${run.id}/incidents/001/window.pcapng`));
  t.ok(names.includes(`${run.id}/README.txt`));
  t.notOk(
    names.some((name) => name.includes('keylog')),
    'never a key log',
  );
});

t.test('too big: windows go first, then cut streams; the README says so', async (t) => {
  const run = await runWithCaptures(t.testdir());
  const trimmed = await writeBundle(run.dir, { maxBytes: 3_000_000, out: join(run.dir, 'small.tar.gz') });
  t.ok(trimmed.bytes <= 3_000_000);
  t.same(
    trimmed.leftOut
      .map((part) => part.path)
      .filter((path) => path.endsWith('.pcapng'))
      .sort(),
    ['incidents/001/window.pcapng', 'incidents/002/window.pcapng'],
    'both windows out, both cut streams in',
  );
  const names = await list(trimmed.path);
  t.ok(names.includes(`${run.id}/incidents/002/capture.pcapng`));
  t.ok(names.includes(`${run.id}/incidents/001/capture.txt`), 'summaries always stay');

  const tiny = await writeBundle(run.dir, { maxBytes: 600_000, out: join(run.dir, 'tiny.tar.gz') });
  t.ok(
    tiny.leftOut.some((part) => part.path === 'incidents/001/capture.pcapng'),
    'cut streams go last',
  );
  t.ok((await list(tiny.path)).includes(`${run.id}/report.md`));
  await exec('tar', ['-xzf', tiny.path, '-C', run.dir, `${run.id}/README.txt`]);
  t.match(await readFile(join(run.dir, run.id, 'README.txt'), 'utf8'), /Left out[\s\S]*window\.pcapng/);
});

t.test('a window shared by incidents is packed once, and extracts into each folder', async (t) => {
  const run = await runWithCaptures(t.testdir());
  // As the flight recorder keeps one window for incidents of one moment: hard links. Three
  // folders, as a freeze gives (a stall, a silence, a queue): node-tar's async pack hung on those.
  await mkdir(join(run.dir, 'incidents', '003'));
  for (const name of ['capture.pcapng', 'window.pcapng', 'capture.txt'])
    for (const folder of ['002', '003']) {
      await rm(join(run.dir, 'incidents', folder, name), { force: true });
      await link(join(run.dir, 'incidents', '001', name), join(run.dir, 'incidents', folder, name));
    }
  const shared = await writeBundle(run.dir, { out: join(run.dir, 'shared.tar.gz') });
  t.same(shared.leftOut, []);
  // One window (~3 MB) and one cut (~1 MB) of random bytes, not two of each.
  t.ok(shared.bytes < 5_000_000, `packed once (${shared.bytes} bytes)`);
  const out = join(run.dir, 'extracted');
  await mkdir(out);
  await exec('tar', ['-xzf', shared.path, '-C', out]);
  for (const name of ['capture.pcapng', 'window.pcapng'])
    t.ok(
      (await readFile(join(out, run.id, 'incidents', '003', name))).equals(
        await readFile(join(run.dir, 'incidents', '001', name)),
      ),
      `incidents/003/${name} extracts whole`,
    );
  // Too big for the window: it leaves every folder it was in, the cut streams stay.
  const trimmed = await writeBundle(run.dir, { maxBytes: 2_000_000, out: join(run.dir, 'small.tar.gz') });
  t.same(
    trimmed.leftOut
      .map((part) => part.path)
      .filter((path) => path.endsWith('.pcapng'))
      .sort(),
    ['incidents/001/window.pcapng', 'incidents/002/window.pcapng', 'incidents/003/window.pcapng'],
  );
  t.ok((await list(trimmed.path)).includes(`${run.id}/incidents/003/capture.pcapng`));
});

t.test('refused: a private key in the run folder, a --max too small', async (t) => {
  const run = await runWithCaptures(t.testdir());
  await writeFile(join(run.dir, 'incidents', '001', 'note.txt'), '-----BEGIN PRIVATE KEY-----\nAAAA\n');
  await t.rejects(writeBundle(run.dir), { code: ErrorCodes.USAGE, message: /private key/ });
  await t.rejects(writeBundle(run.dir, { maxBytes: 10 }), { code: ErrorCodes.USAGE });
});
