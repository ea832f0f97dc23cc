import t from 'tap';
import { ensureEngine } from '../engine/docker-engine.ts';
import { silentProgress } from '../progress.ts';
import { catalogue, imageTag } from '../systems/icinga/images/catalogue.ts';
import { buildIcingaImage, probeImage } from '../systems/icinga/images/icinga-image.ts';
import { hunt } from './cli.ts';

const { docker } = await ensureEngine(silentProgress);

t.test('each catalogue image runs the Icinga 2 version the catalogue promises', async (t) => {
  for (const entry of catalogue) {
    // Builds on a fresh machine, reuses on a warm one: the same code path as `hunt images build`.
    const outcome = await buildIcingaImage(docker, entry, silentProgress);
    t.equal(outcome.tag, imageTag(entry.version));
    const probe = await probeImage(docker, outcome.tag);
    t.equal(probe.version, entry.version, `icinga2 --version in ${outcome.tag}: ${probe.banner}`);
    t.match(
      probe.openssl,
      new RegExp(`^${entry.openssl.replace('.', '\\.')}`),
      `OpenSSL line of ${entry.suite}`,
    );
  }
});

t.test('a second build with unchanged inputs is a no-op', async (t) => {
  for (const entry of catalogue) {
    const before = (await docker.getImage(imageTag(entry.version)).inspect()).Id;
    const outcome = await buildIcingaImage(docker, entry, silentProgress);
    t.equal(outcome.status, 'cached', entry.version);
    t.equal(outcome.imageId, before, 'same image id');
  }
});

t.test('the daemon runs under an init that reaps (no zombie workers after reloads)', async (t) => {
  const info = await docker.getImage(imageTag('2.13.6')).inspect();
  t.same(info.Config.Entrypoint?.slice(0, 2), ['/usr/bin/tini', '--']);
});

t.test('hunt images list --json reports the real version strings', async (t) => {
  const result = await hunt(['images', 'list', '--json']);
  t.equal(result.code, 0, result.stderr);
  const listed = JSON.parse(result.stdout) as Array<{
    tag: string;
    system: string;
    version: string;
    banner: string;
    sizeBytes: number;
  }>;
  for (const entry of catalogue) {
    const image = listed.find((candidate) => candidate.tag === imageTag(entry.version));
    t.ok(image, `${entry.version} listed`);
    t.equal(image?.system, 'icinga');
    t.equal(image?.version, entry.version);
    t.match(image?.banner, /icinga2 - The Icinga 2 network monitoring daemon/);
    t.ok((image?.sizeBytes ?? 0) > 50e6, 'a real image, not an empty tag');
  }
});
