import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { ErrorCodes } from '../errors.ts';
import { readRunManifest } from './manifest.ts';

t.test('a run.json written before --steps reads with its length as steps', async (t) => {
  const dir = t.testdir({
    'run.json': JSON.stringify({ id: 'r', scenario: 'canary', limits: { reloads: 4, durationMs: null } }),
  });
  const manifest = await readRunManifest(dir);
  t.same(manifest.limits, { steps: 4, durationMs: null }, 'the old name read as steps, and gone');
  await writeFile(join(dir, 'run.json'), JSON.stringify({ id: 'r', limits: { steps: 6, unit: 'turns' } }));
  t.same((await readRunManifest(dir)).limits, { steps: 6, unit: 'turns' }, "today's as written");
});

t.test('a folder without run.json, or with one that is not an object, is no run', async (t) => {
  const dir = t.testdir({ 'run.json': '[1]' });
  await t.rejects(readRunManifest(dir), { code: ErrorCodes.RUN_NOT_FOUND, message: /not a run manifest/ });
  await t.rejects(readRunManifest(join(dir, 'nope')), {
    code: ErrorCodes.RUN_NOT_FOUND,
    message: /no run\.json/,
  });
});
