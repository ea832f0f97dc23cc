import t from 'tap';
import { ensureEngine } from '../engine/docker-engine.ts';
import { baseImageTag } from '../images/debian-base.ts';
import { silentProgress } from '../progress.ts';
import { catalogueEntry } from '../systems/icinga/images/catalogue.ts';
import { buildIcingaImage } from '../systems/icinga/images/icinga-image.ts';
import { hunt } from './cli.ts';

const { docker } = await ensureEngine(silentProgress);

async function taggedImages(): Promise<string[]> {
  return (await docker.listImages()).flatMap((image) => image.RepoTags ?? []).sort();
}

t.test(
  'a source build from a folder that does not exist: one paragraph, exit 2, nothing built or tagged',
  async (t) => {
    const before = await taggedImages();
    const result = await hunt(['images', 'build', '--icinga', '9.9.9', '--source', '/nonexistent']);
    t.equal(result.code, 2);
    t.match(result.stderr, /\[HH_USAGE\] --source \/nonexistent is not a folder\./);
    t.equal(result.stderr.trim().split('\n').length, 1, 'one paragraph');
    t.same(await taggedImages(), before);
  },
);

t.test('an image that is not Icinga 2 is refused with exit 2', async (t) => {
  // The Debian base the bookworm image is built on: a real image, but without icinga2.
  await buildIcingaImage(docker, catalogueEntry('2.13.6'), silentProgress);
  const result = await hunt(['images', 'build', '--image', baseImageTag('bookworm'), '--json']);
  t.equal(result.code, 2);
  const { error } = JSON.parse(result.stdout) as { error: { code: string; message: string } };
  t.equal(error.code, 'HH_IMAGE_NOT_ICINGA');
  t.match(error.message, /does not contain a working Icinga 2/);
});

t.test('a user-named Icinga image is accepted and its version read from the binary', async (t) => {
  const result = await hunt(['images', 'build', '--image', 'handshake-hunter/icinga2:2.13.6', '--json']);
  t.equal(result.code, 0, result.stderr);
  t.match(JSON.parse(result.stdout), { version: '2.13.6', openssl: /^3\.0/ });
});

t.test('an image that does not exist and cannot be pulled: exit 2', async (t) => {
  const result = await hunt(['images', 'build', '--image', 'handshake-hunter/no-such-image:0']);
  t.equal(result.code, 2);
  t.match(result.stderr, /HH_IMAGE_NOT_FOUND/);
});

t.test('an unreachable DOCKER_HOST: exit 2 and no engine started elsewhere', async (t) => {
  const result = await hunt(['doctor'], { DOCKER_HOST: 'tcp://127.0.0.1:9' });
  t.equal(result.code, 2);
  t.match(
    result.stderr,
    /\[HH_ENGINE_UNAVAILABLE\] No Docker engine answers at DOCKER_HOST=tcp:\/\/127\.0\.0\.1:9/,
  );
});
