import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { toxicList, toxicType } from './toxic-registry.ts';

t.test('every file in toxics/ is in the list, under its wire name', async (t) => {
  const files = (await readdir(join(import.meta.dirname, 'toxics')))
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts'))
    .map((file) => file.replace(/\.ts$/, '').replace(/-/g, '_'));
  t.same(toxicList.map((type) => type.type).sort(), files.sort());
});

t.test('an unknown toxic type names the known ones', async (t) => {
  await t.rejects(toxicType('nope'), { code: 'HH_TOXIC_UNKNOWN', message: /Known: .*latency/ });
});
