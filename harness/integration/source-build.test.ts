/**
 * Opt-in (a compile takes 10 minutes and more on 2 cores): HH_ICINGA_SOURCE names a checkout of
 * Icinga's icinga2 repository, HH_ICINGA_SOURCE_VERSION the release to build (default 2.14.4).
 * Builds it from source, checks what `hunt images list` says of it, runs the canary on it, and
 * interrupts a second compile, which must stop within seconds and tag nothing.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { ensureEngine } from '../engine/docker-engine.ts';
import { Labels } from '../engine/labels.ts';
import { silentProgress } from '../progress.ts';
import { imageTag } from '../systems/icinga/images/catalogue.ts';
import { eventually, within } from '../test-kits/eventually.ts';
import { hunt, startHunt } from './cli.ts';

const source = process.env.HH_ICINGA_SOURCE;
const version = process.env.HH_ICINGA_SOURCE_VERSION ?? '2.14.4';
if (source === undefined) {
  t.pass('opt-in: set HH_ICINGA_SOURCE to a checkout of Icinga 2 to build a version from source');
} else {
  const { docker } = await ensureEngine(silentProgress);
  const results = await mkdtemp(join(tmpdir(), 'hh-source-'));
  t.teardown(() => rm(results, { recursive: true, force: true }));
  const compileContainers = async () =>
    (
      await docker.listContainers({
        all: true,
        filters: JSON.stringify({ label: [`${Labels.ROLE}=compile`] }),
      })
    ).length;

  t.test(`Icinga ${version} built from source runs the harness's scenarios`, async (t) => {
    const built = await hunt(['images', 'build', '--icinga', version, '--source', source, '--json']);
    t.equal(built.code, 0, built.stderr.slice(-2000));
    const [build] = JSON.parse(built.stdout) as Array<{ tag: string; builtFrom: string; status: string }>;
    t.equal(build?.tag, imageTag(version));
    t.match(build?.builtFrom, /^source git [0-9a-f]{40}$/);

    const listed = await hunt(['images', 'list', '--json']);
    const image = (JSON.parse(listed.stdout) as Array<Record<string, unknown>>).find(
      (i) => i.tag === imageTag(version),
    );
    t.equal(image?.version, version, "icinga2 --version in the image reports the tag's version");
    t.match(image?.openssl, /^3\./);
    t.equal(image?.builtFrom, build?.builtFrom);

    const again = await hunt(['images', 'build', '--icinga', version, '--source', source, '--json']);
    t.equal(
      (JSON.parse(again.stdout) as Array<{ status: string }>)[0]?.status,
      'cached',
      'an unchanged source is not compiled again',
    );

    const canary = await hunt(['run', 'canary', '--icinga', version, '--results', results, '--json']);
    t.equal(canary.code, 0, canary.stderr.slice(-2000));
  });

  t.test('Ctrl-C during a compile stops it within seconds and tags nothing', async (t) => {
    const before = await docker
      .getImage(imageTag(version))
      .inspect()
      .then((image) => image.Id);
    const build = startHunt(['images', 'build', '--icinga', version, '--source', source, '--no-cache']);
    await eventually('the compile started', () => /compile \d+%/.test(build.output().stderr), {
      timeoutMs: 300_000,
    });
    build.child.kill('SIGINT');
    const ended = await within(15_000, build.done);
    t.equal(ended.code, 130);
    t.match(ended.stderr, /was not tagged/);
    t.equal(await compileContainers(), 0, 'the compile container is gone');
    t.equal(
      (await docker.getImage(imageTag(version)).inspect()).Id,
      before,
      'the image built before is still tagged',
    );
  });
}
