import { copyFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { compareToBaseline, matrixOfRuns } from '../../report/matrix.ts';
import { writeFixtureRun } from '../../test-kits/fixture-run.ts';
import { main } from '../hunt.ts';
import { knownDetectors } from '../systems.ts';

/** hunt's stdout during one command (tap writes its own output to stdout between commands). */
async function hunt(args: string[]): Promise<{ code: number; stdout: string }> {
  const writes: string[] = [];
  const write = process.stdout.write;
  process.stdout.write = ((chunk: string) => writes.push(String(chunk)) > 0) as typeof write;
  try {
    return { code: await main(args), stdout: writes.join('') };
  } finally {
    process.stdout.write = write;
  }
}

const barriers = (n: number, ms: number) => Array.from({ length: n }, (_, i) => ms + (i % 7) * 15);

t.test('hunt merge of runs made separately equals the matrix of all of them', async (t) => {
  const root = t.testdir();
  // Two machines' runs of 2.13.6 and one of 2.14.6, as CI artifacts would arrive.
  const runs = [
    await writeFixtureRun(root, { barriers: barriers(60, 900), tlsFailures: 1 }),
    await writeFixtureRun(root, { barriers: barriers(40, 950) }),
    await writeFixtureRun(root, { target: { icinga: '2.14.6' }, barriers: barriers(50, 1200) }),
  ];
  const out = join(root, 'merged');
  const result = await hunt(['merge', ...runs.map((run) => run.dir), '--out', out, '--json']);
  t.equal(result.code, 0);
  const merged = JSON.parse(result.stdout);
  const direct = await matrixOfRuns(
    runs.map((run) => run.dir),
    knownDetectors,
  );
  t.same(merged, direct, 'the same table, field by field');
  t.same(JSON.parse(await readFile(join(out, 'matrix.json'), 'utf8')), direct);
  t.match(await readFile(join(out, 'matrix.md'), 'utf8'), /\| 2\.13\.6 \|.*\| 100 \|/);

  // Merging in another order, or merging the merged runs' halves again, changes nothing.
  const reversed = await matrixOfRuns(runs.map((run) => run.dir).reverse(), knownDetectors);
  t.same(
    reversed.cells.find((cell) => cell.target === '2.13.6')?.incidentsPer1000Reloads,
    direct.cells.find((cell) => cell.target === '2.13.6')?.incidentsPer1000Reloads,
  );
});

t.test('hunt merge --baseline exits 1 naming the regression', async (t) => {
  const root = t.testdir();
  const baselineRun = await writeFixtureRun(root, { barriers: barriers(80, 900) });
  const worseRun = await writeFixtureRun(root, { barriers: barriers(80, 1500) });
  const baselineFile = join(root, 'baseline.json');
  t.equal((await hunt(['merge', baselineRun.dir, '--out', join(root, 'a')])).code, 0);
  await copyFile(join(root, 'a', 'matrix.json'), baselineFile);
  const worse = await hunt(['merge', worseRun.dir, '--out', join(root, 'b'), '--baseline', baselineFile]);
  t.equal(worse.code, 1);
  t.match(worse.stdout, /2\.13\.6 \| reload barrier p50 \(ms\)/);
  const expected = compareToBaseline(
    await matrixOfRuns([worseRun.dir], knownDetectors),
    await matrixOfRuns([baselineRun.dir], knownDetectors),
  );
  t.same(JSON.parse(await readFile(join(root, 'b', 'matrix.json'), 'utf8')), expected);
});
