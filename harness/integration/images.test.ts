import t from 'tap';
import { ensureEngine } from '../engine/docker-engine.ts';
import { runOnce } from '../engine/docker-run.ts';
import { imageLabels } from '../engine/labels.ts';
import { baseImageTag } from '../images/debian-base.ts';
import { silentProgress } from '../progress.ts';
import { catalogue, catalogueEntry, imageTag } from '../systems/icinga/images/catalogue.ts';
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

t.test(
  "a user's Icinga image without the harness's tools gets them layered on, its Icinga untouched",
  async (t) => {
    // A stand-in for a user's image: Debian's icinga2 on the bookworm base, no tini, tcpdump or
    // shims, and apt sources this machine cannot reach (as an image pulled from elsewhere has).
    const base = baseImageTag('bookworm');
    await buildIcingaImage(docker, catalogueEntry('2.13.6'), silentProgress);
    const userImage = 'handshake-hunter/test-user-icinga2:bookworm';
    const dockerfile = [
      `FROM ${base}`,
      "RUN printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d" +
        ' && apt-get update && apt-get install -y --no-install-recommends icinga2 && rm -rf /var/lib/apt/lists/*' +
        " && echo 'deb http://debian.invalid/debian bookworm main' > /etc/apt/sources.list && rm -rf /etc/apt/sources.list.d/*",
      'CMD ["icinga2", "daemon"]',
    ].join('\n');
    const context = t.testdir({ Dockerfile: dockerfile });
    const stream = await docker.buildImage(
      { context, src: ['Dockerfile'] },
      { t: userImage, labels: imageLabels() },
    );
    await new Promise((resolve, reject) =>
      docker.modem.followProgress(stream, (error) => (error ? reject(error) : resolve(undefined))),
    );
    t.teardown(() =>
      docker
        .getImage(userImage)
        .remove({ force: true })
        .catch(() => undefined),
    );

    const result = await hunt(['images', 'build', '--image', userImage, '--json']);
    t.equal(result.code, 0, result.stderr.slice(-1500));
    const checked = JSON.parse(result.stdout) as { version: string; runsAs: string };
    t.equal(checked.version, '2.13.6');
    t.match(checked.runsAs, /^handshake-hunter\/icinga2-layered:[0-9a-f]{12}$/);
    t.teardown(() =>
      docker
        .getImage(checked.runsAs)
        .remove({ force: true })
        .catch(() => undefined),
    );

    const inLayer = await runOnce(docker, checked.runsAs, [
      'sh',
      '-c',
      'for tool in tini tcpdump ip ps; do command -v $tool; done; ls /usr/local/lib/hh-keylog.so /usr/local/lib/hh-certfault.so; icinga2 --version | head -n 1; cat /etc/apt/sources.list',
    ]);
    t.equal(inLayer.exitCode, 0, inLayer.stderr);
    t.match(inLayer.stdout, /tini\n.*tcpdump\n.*\/ip\n.*\/ps\n/s, 'the tools are there');
    t.match(inLayer.stdout, /hh-certfault\.so\n.*hh-keylog\.so/s, 'and the shims');
    t.match(inLayer.stdout, /\(version: r2\.13\.6-1\)/, "the user's icinga2, untouched");
    t.match(inLayer.stdout, /debian\.invalid/, 'the image keeps its own apt sources');

    const again = await hunt(['images', 'build', '--image', 'handshake-hunter/icinga2:2.13.6', '--json']);
    t.equal(
      (JSON.parse(again.stdout) as { runsAs: string }).runsAs,
      'handshake-hunter/icinga2:2.13.6',
      'an image that has the parts runs as itself',
    );
  },
);
