import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { projectRoot } from '../paths.ts';
import { allProperties } from './properties.ts';

const exec = promisify(execFile);
const fuzz = join(projectRoot, 'harness/fuzz/fuzz.ts');

t.test('npm run fuzz: every property in its worker, the counts printed, exit 0', async (t) => {
  const { stdout } = await exec(process.execPath, [fuzz], { env: { ...process.env, FUZZ_RUNS: '2000' } });
  const rows = stdout.split('\n').filter((line) => /2,000 inputs .* ok$/.test(line));
  t.equal(rows.length, allProperties.length, stdout);
  t.match(stdout, /fuzz: all passed/);
});

t.test('a bad FUZZ_RUNS is refused with exit 2', async (t) => {
  await t.rejects(exec(process.execPath, [fuzz], { env: { ...process.env, FUZZ_RUNS: 'lots' } }), {
    code: 2,
  });
});
