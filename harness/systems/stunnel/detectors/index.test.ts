import { readdir } from 'node:fs/promises';
import t from 'tap';
import { stunnelDetectors } from './index.ts';

t.test("every file in stunnel's detectors/ is in its list, under its file's name", async (t) => {
  const names = stunnelDetectors.map((detector) => detector.name).sort();
  const files = (await readdir(import.meta.dirname))
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts') && file !== 'index.ts')
    .map((file) => file.replace(/\.ts$/, ''))
    .sort();
  t.same(names, files);
  t.same(names, ['accept-queue', 'log-silence', 'reset-spike', 'throughput-stall']);
});
