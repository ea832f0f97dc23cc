import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { projectRoot } from '../paths.ts';
import { HUNT_NODE_FLAGS, spawnHunt } from './hunt-child.ts';

// A hunt started any of the three ways (npx through the first line, npm start, the runner's
// children) must get the same Node flags, or soaks measure a different process than users run.
t.test('every way of starting hunt passes the same Node flags', async (t) => {
  const shebang = (await readFile(join(projectRoot, 'harness/cli/hunt.ts'), 'utf8')).split('\n')[0];
  const scripts = JSON.parse(await readFile(join(projectRoot, 'package.json'), 'utf8')).scripts;
  for (const flag of HUNT_NODE_FLAGS) {
    t.ok(shebang?.includes(` ${flag}`), `hunt.ts's first line has ${flag}`);
    t.ok(scripts.start.includes(` ${flag} `), `npm start has ${flag}`);
    t.ok(scripts.hunt.includes(` ${flag} `), `npm run hunt has ${flag}`);
  }
  const child = spawnHunt(['--help']);
  t.same(child.spawnargs.slice(1, 1 + HUNT_NODE_FLAGS.length), HUNT_NODE_FLAGS, 'spawnHunt too');
  const code = await new Promise((resolve) => child.on('close', resolve));
  t.equal(code, 0, 'and Node accepts them');
});
