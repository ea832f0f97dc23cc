import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { ensureEngine } from '../engine/docker-engine.ts';
import { silentProgress } from '../progress.ts';
import { catalogueEntry } from '../systems/icinga/images/catalogue.ts';
import { buildIcingaImage } from '../systems/icinga/images/icinga-image.ts';
import { type RunningCli, startHunt } from './cli.ts';
import { runObjects } from './leftovers.ts';

// Ctrl-C during set-up: the run stops within 5 s, removes what it started and says interrupted.
const { docker } = await ensureEngine(silentProgress);
const results = t.testdir();
// A repository of its own, so the build below always builds (the usual images may be cached).
const SCRATCH_REPOSITORY = 'handshake-hunter/icinga2-interrupt-test';

async function removeScratchImages(): Promise<void> {
  for (const image of await docker.listImages({
    filters: JSON.stringify({ reference: [`${SCRATCH_REPOSITORY}`] }),
  }))
    await docker
      .getImage(image.Id)
      .remove({ force: true })
      .catch(() => undefined);
}

/** Resolves once the child's progress matches; fails the wait after `timeoutMs`. */
async function progressed(run: RunningCli, pattern: RegExp, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(run.output().stderr)) {
    if (Date.now() > deadline || run.child.exitCode !== null)
      throw new Error(`no "${pattern.source}" in ${timeoutMs} ms:\n${run.output().stderr.slice(-600)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function interruptAndCheck(t: Test, run: RunningCli): Promise<void> {
  const sent = performance.now();
  run.child.kill('SIGINT');
  const { code } = await run.done;
  const seconds = (performance.now() - sent) / 1000;
  t.equal(code, 130, run.output().stderr.slice(-600));
  t.ok(seconds < 5, `stopped ${seconds.toFixed(1)} s after SIGINT (at most 5)`);
  t.notMatch(run.output().stderr, /hunt: error/, 'an interrupt is not reported as an error');
  const folders = (await readdir(results)).filter((name) => !name.startsWith('.'));
  const dir = join(results, folders.sort().at(-1) as string);
  t.match(JSON.parse(await readFile(join(dir, 'run.json'), 'utf8')), {
    outcome: { status: 'interrupted', exitCode: 130 },
  });
  t.equal(await runObjects(docker, results), 0, 'no labelled container or network of the run is left');
}

t.test('SIGINT during an image build: exit 130 within 5 s, nothing tagged, nothing left', async (t) => {
  await removeScratchImages();
  t.teardown(removeScratchImages);
  // Without the layer cache the build takes a while (apt installs Icinga) even on a warm engine.
  const run = startHunt(['run', 'canary', '--results', results], {
    HH_IMAGE_REPOSITORY: SCRATCH_REPOSITORY,
    HH_IMAGE_NO_CACHE: '1',
  });
  // On a fresh engine the Debian base is debootstrapped first: that is set-up too.
  await progressed(run, /==> debootstrap|==> building handshake-hunter\/icinga2-interrupt-test/, 300_000);
  // A positive sign that the image build itself is under way: a RUN step of the recipe started.
  await progressed(run, /Step \d+\/\d+ : RUN/, 300_000);
  await interruptAndCheck(t, run);
  const tagged = await docker.listImages({ filters: JSON.stringify({ reference: [SCRATCH_REPOSITORY] }) });
  t.same(tagged, [], 'the interrupted build tagged nothing');
});

t.test('SIGINT while the stack starts: exit 130 within 5 s, nothing left', async (t) => {
  await buildIcingaImage(docker, catalogueEntry('2.13.6'), silentProgress);
  const run = startHunt(['run', 'canary', '--results', results]);
  await progressed(run, /starting master1/, 120_000);
  await interruptAndCheck(t, run);
});

t.test('SIGINT in the middle of a reload storm: exit 130 within 5 s, no incident of its doing', async (t) => {
  await buildIcingaImage(docker, catalogueEntry('2.13.6'), silentProgress);
  const run = startHunt([
    'run',
    'reload-storm',
    '--param',
    'endpoints=20',
    '--reloads',
    '1000',
    '--results',
    results,
  ]);
  // The status line counts verified reloads: two done means the storm is in its steps.
  await progressed(run, /reloads [2-9]\d*\/1000 /, 180_000);
  await interruptAndCheck(t, run);
  const folders = (await readdir(results)).filter((name) => !name.startsWith('.')).sort();
  const meta = JSON.parse(await readFile(join(results, folders.at(-1) as string, 'run.json'), 'utf8'));
  t.match(meta.verdict, { incidents: 0 }, 'the reload cut short by the interrupt is no incident');
});
