import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import t from 'tap';
import { ensureEngine } from '../engine/docker-engine.ts';
import { harnessLabels, Labels, managedFilter, ownerId } from '../engine/labels.ts';
import { silentProgress } from '../progress.ts';
import { catalogueEntry } from '../systems/icinga/images/catalogue.ts';
import { buildIcingaImage } from '../systems/icinga/images/icinga-image.ts';
import { hunt } from './cli.ts';

const { docker } = await ensureEngine(silentProgress);
const { tag } = await buildIcingaImage(docker, catalogueEntry('2.13.6'), silentProgress);

/** A process that has ended: its pid names an owner that is gone (as after SIGKILL). */
async function deadPid(): Promise<number> {
  const child = spawn('true');
  await new Promise((resolve) => child.on('close', resolve));
  return child.pid ?? 0;
}

/** What a run leaves behind: a network, a running container on it, a volume. */
async function leftovers(name: string, labels: Record<string, string>) {
  const network = await docker.createNetwork({ Name: name, Labels: labels });
  const container = await docker.createContainer({
    Image: tag,
    name,
    Entrypoint: ['sleep', '600'],
    Labels: labels,
    HostConfig: { NetworkMode: name },
  });
  await container.start();
  await docker.createVolume({ Name: name, Labels: labels });
  return { network, container };
}

interface Cleaned {
  containers: string[];
  networks: string[];
  volumes: string[];
  kept: Array<{ kind: string; name: string; state: string }>;
}

t.test('hunt clean removes what a crashed run left, and keeps the images', async (t) => {
  const name = `hh-clean-test-${process.pid}`;
  const labels = harnessLabels({
    [Labels.RUN]: name,
    [Labels.OWNER]: `${hostname()}/${await deadPid()}/?`,
  });
  const { network } = await leftovers(name, labels);

  const result = await hunt(['clean', '--json']);
  t.equal(result.code, 0, result.stderr);
  const removed = JSON.parse(result.stdout) as Cleaned;
  t.ok(removed.containers.includes(name));
  t.ok(removed.networks.includes(name));
  t.ok(removed.volumes.includes(name));
  const filters = JSON.stringify(managedFilter(name));
  t.same(await docker.listContainers({ all: true, filters }), [], 'no labelled container left');
  t.same(await docker.listNetworks({ filters }), [], 'no labelled network left');
  t.same((await docker.listVolumes({ filters })).Volumes ?? [], [], 'no labelled volume left');
  t.ok(await docker.getImage(tag).inspect(), 'images survive a clean without --all');
  await t.rejects(network.inspect(), 'the network is really gone');
});

t.test("hunt clean keeps a live run's objects; --force removes them", async (t) => {
  // The owner is a process that is still running, as a run in another terminal would be.
  const owner = spawn('sleep', ['600']);
  t.teardown(() => owner.kill());
  const name = `hh-clean-live-${process.pid}`;
  await leftovers(name, harnessLabels({ [Labels.RUN]: name, [Labels.OWNER]: ownerId(owner.pid) }));

  const kept = JSON.parse((await hunt(['clean', '--json'])).stdout) as Cleaned;
  t.notOk(kept.containers.includes(name), 'the live run keeps its container');
  t.match(kept.kept, [{ kind: 'container', name, state: 'alive' }]);
  t.ok(await docker.getContainer(name).inspect(), 'still there');
  t.ok(await docker.getNetwork(name).inspect(), 'its network too');

  const forced = JSON.parse((await hunt(['clean', '--force', '--run', name, '--json'])).stdout) as Cleaned;
  t.same([forced.containers, forced.networks, forced.volumes], [[name], [name], [name]]);
});

t.test('a container started by hand from a harness image is not a run object', async (t) => {
  const container = await docker.createContainer({ Image: tag, Entrypoint: ['sleep', '600'] });
  t.teardown(() => container.remove({ force: true }).catch(() => undefined));
  await container.start();
  const labels = (await container.inspect()).Config.Labels ?? {};
  t.equal(labels[Labels.MANAGED], 'false', 'the image says managed=false, so its containers do');
  t.equal(labels[Labels.OWNER], undefined);
  const result = JSON.parse((await hunt(['clean', '--json'])).stdout) as Cleaned;
  t.notOk(result.containers.includes(container.id.slice(0, 12)));
  t.equal((await container.inspect()).State.Running, true, 'still running');
});

t.test(
  'hunt clean --stages frees the untagged stages builds leave, and keeps every tagged image',
  async (t) => {
    // A stage as an image build leaves it: untagged, with the base's image label. Building one tag
    // twice with different content leaves the first build dangling, as a rebuilt recipe does.
    const build = async (content: string) => {
      const context = t.testdir({ Dockerfile: `FROM ${tag}\nRUN echo ${content} > /stage\n` });
      const stream = await docker.buildImage(
        { context, src: ['Dockerfile'] },
        { t: 'handshake-hunter/test-stage:1' },
      );
      await new Promise((resolve, reject) =>
        docker.modem.followProgress(stream, (error) => (error ? reject(error) : resolve(undefined))),
      );
      return (await docker.getImage('handshake-hunter/test-stage:1').inspect()).Id;
    };
    const stale = await build(`first-${process.pid}`);
    const current = await build(`second-${process.pid}`);
    t.teardown(() =>
      docker
        .getImage(current)
        .remove({ force: true })
        .catch(() => undefined),
    );
    t.ok((await docker.getImage(stale).inspect()).RepoTags?.length === 0, 'the first build is left untagged');

    const result = await hunt(['clean', '--stages', '--json']);
    t.equal(result.code, 0, result.stderr);
    t.ok(
      (JSON.parse(result.stdout) as { images: string[] }).images.includes(stale),
      'the stage is named as removed',
    );
    t.equal(
      await docker
        .getImage(stale)
        .inspect()
        .then(
          () => 200,
          (error: { statusCode?: number }) => error.statusCode,
        ),
      404,
      'and is gone',
    );
    t.equal((await docker.getImage(current).inspect()).Id, current, 'the tagged build stays');
    t.ok(await docker.getImage(tag).inspect(), 'and so does the Icinga image');
  },
);

t.test(
  "hunt clean --stages removes the tools layered on a user's image once that image is gone",
  async (t) => {
    // Built here, removed with the test whatever becomes of the tag.
    const built = async (name: string, dockerfile: string) => {
      const context = t.testdir({ Dockerfile: dockerfile });
      const stream = await docker.buildImage({ context, src: ['Dockerfile'] }, { t: name });
      await new Promise((resolve, reject) =>
        docker.modem.followProgress(stream, (error) => (error ? reject(error) : resolve(undefined))),
      );
      const id = (await docker.getImage(name).inspect()).Id;
      t.teardown(async () => {
        for (const image of [name, id])
          await docker
            .getImage(image)
            .remove({ force: true })
            .catch(() => undefined);
      });
      return id;
    };
    const layer = (name: string, on: string) => built(name, `FROM ${tag}\nLABEL ${Labels.LAYER_OF}=${on}\n`);
    // Stand-in layers: on an image that is gone, on one still here, and on a user's image rebuilt
    // under its tag (the old one stays, untagged, under the layer on it).
    await layer('handshake-hunter/test-layered:gone', `sha256:${'0'.repeat(64)}`);
    await layer('handshake-hunter/test-layered:present', (await docker.getImage(tag).inspect()).Id);
    const userTag = 'handshake-hunter/test-user-image:1';
    const oldUser = await built(userTag, `FROM ${tag}\nLABEL test-build=${process.pid}-old\n`);
    await built(
      'handshake-hunter/test-layered:rebuilt',
      `FROM ${oldUser}\nLABEL ${Labels.LAYER_OF}=${oldUser}\n`,
    );
    await built(userTag, `FROM ${tag}\nLABEL test-build=${process.pid}-new\n`);
    t.same((await docker.getImage(oldUser).inspect()).RepoTags, [], 'the old image lingers untagged');

    const result = await hunt(['clean', '--stages', '--json']);
    t.equal(result.code, 0, result.stderr);
    const { images } = JSON.parse(result.stdout) as { images: string[] };
    t.ok(images.includes('handshake-hunter/test-layered:gone'), 'the orphaned layer is named as removed');
    t.ok(images.includes('handshake-hunter/test-layered:rebuilt'), 'so is the layer on a rebuilt image');
    const status = (name: string) =>
      docker
        .getImage(name)
        .inspect()
        .then(
          () => 200,
          (error: { statusCode?: number }) => error.statusCode,
        );
    t.equal(await status('handshake-hunter/test-layered:gone'), 404, 'and is gone');
    t.equal(await status('handshake-hunter/test-layered:rebuilt'), 404);
    t.equal(await status('handshake-hunter/test-layered:present'), 200, 'a layer whose image is here stays');
  },
);
