import { mkdtemp, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { makeDirectory } from './fs-directory.ts';

t.test('creates every missing level and accepts an existing folder', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'hh-dir-'));
  const deep = join(root, 'a', 'b', 'c');
  await makeDirectory(deep);
  t.ok((await stat(deep)).isDirectory());
  await makeDirectory(deep);
  t.ok((await stat(deep)).isDirectory(), 'a second call is a no-op');
});

t.test('a file in the way is ENOTDIR, not a hang', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'hh-dir-'));
  await writeFile(join(root, 'file'), 'x');
  await t.rejects(makeDirectory(join(root, 'file', 'below')), { code: 'ENOTDIR' });
  await t.rejects(makeDirectory(join(root, 'file')), { code: 'ENOTDIR' });
});

t.test('a path under /proc fails at once (Node recursive mkdir loops there forever)', async (t) => {
  const started = performance.now();
  await t.rejects(makeDirectory('/proc/hh-no-such/run/logs'), { code: 'ENOENT' });
  t.ok(performance.now() - started < 1000, 'well under a second');
});
