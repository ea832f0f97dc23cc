import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { ensureEngine } from '../engine/docker-engine.ts';
import { managedFilter } from '../engine/labels.ts';
import { baseImageTag } from '../images/debian-base.ts';
import { silentProgress } from '../progress.ts';
import type { Matrix } from '../report/matrix.ts';
import type { MatrixCellRun } from '../runner/matrix.ts';
import { catalogueEntry } from '../systems/icinga/images/catalogue.ts';
import { buildIcingaImage } from '../systems/icinga/images/icinga-image.ts';
import { hunt } from './cli.ts';
import { copyImages, startSecondEngine } from './second-engine.ts';

const { docker } = await ensureEngine(silentProgress);
const entry = catalogueEntry('2.13.6');
const { tag } = await buildIcingaImage(docker, entry, silentProgress);

t.test('hunt matrix --engines runs cells on two engines at once', async (t) => {
  const second = await startSecondEngine();
  t.teardown(() => second.stop());
  // The second engine gets the image as a second machine would have it: built or loaded.
  await copyImages(docker, second.docker, [baseImageTag(entry.suite), tag]);

  const results = t.testdir();
  // Two targets of one image (by version and by name), so one image copy serves both engines.
  const result = await hunt([
    'matrix',
    'flaky-network',
    '--icinga',
    '2.13.6',
    '--image',
    tag,
    '--reloads',
    '6',
    '--param',
    'endpoints=10',
    '--param',
    'toxicity=0',
    '--capture',
    'off',
    '--engines',
    `unix:///var/run/docker.sock,${second.host}`,
    '--results',
    results,
    '--json',
  ]);
  t.equal(result.code, 0, 'both cells ran', { stderr: result.stderr.slice(-1500) });
  const matrix = JSON.parse(result.stdout) as Matrix & { runs: MatrixCellRun[] };
  t.same(matrix.cells.map((cell) => cell.target).sort(), ['2.13.6', tag].sort());
  t.same(new Set(matrix.runs.map((run) => run.engine)).size, 2, 'one cell per engine');
  // In parallel: each run started before the other ended.
  const spans = await Promise.all(
    matrix.runs.map(async (run) => {
      const meta = JSON.parse(await readFile(join(run.dir as string, 'run.json'), 'utf8'));
      return { start: Date.parse(meta.startedAt), end: Date.parse(meta.endedAt) };
    }),
  );
  const [a, b] = spans as [{ start: number; end: number }, { start: number; end: number }];
  t.ok(a.start < b.end && b.start < a.end, 'the two runs overlapped in time');
  for (const run of matrix.runs) {
    const filters = JSON.stringify(managedFilter(run.dir?.split('/').at(-1)));
    t.same(
      await second.docker.listContainers({ all: true, filters }),
      [],
      'nothing left on the second engine',
    );
    t.same(await docker.listContainers({ all: true, filters }), [], 'nor on the first');
  }
});
