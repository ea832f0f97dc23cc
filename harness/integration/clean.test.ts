import t from 'tap';
import { ensureEngine } from '../engine/docker-engine.ts';
import { harnessLabels, Labels, managedFilter } from '../engine/labels.ts';
import { catalogueEntry } from '../images/catalogue.ts';
import { buildIcingaImage } from '../images/icinga-image.ts';
import { silentProgress } from '../progress.ts';
import { hunt } from './cli.ts';

const { docker } = await ensureEngine(silentProgress);

t.test('hunt clean removes what a crashed run left, and keeps the images', async (t) => {
  const { tag } = await buildIcingaImage(docker, catalogueEntry('2.13.6'), silentProgress);
  const labels = harnessLabels({ [Labels.RUN]: `clean-test-${process.pid}` });
  // What a run killed with SIGKILL leaves: a network and a running container on it.
  const network = await docker.createNetwork({ Name: `hh-clean-test-${process.pid}`, Labels: labels });
  const container = await docker.createContainer({
    Image: tag,
    Entrypoint: ['sleep', '600'],
    Labels: labels,
    HostConfig: { NetworkMode: `hh-clean-test-${process.pid}` },
  });
  await container.start();
  const volume = await docker.createVolume({ Name: `hh-clean-test-${process.pid}`, Labels: labels });
  t.ok(volume);

  const result = await hunt(['clean', '--json']);
  t.equal(result.code, 0, result.stderr);
  const removed = JSON.parse(result.stdout) as {
    containers: string[];
    networks: string[];
    volumes: string[];
  };
  t.ok(removed.networks.includes(`hh-clean-test-${process.pid}`));
  t.ok(removed.volumes.includes(`hh-clean-test-${process.pid}`));

  const filters = JSON.stringify(managedFilter());
  t.same(await docker.listContainers({ all: true, filters }), [], 'no labelled container left');
  t.same(await docker.listNetworks({ filters }), [], 'no labelled network left');
  t.same((await docker.listVolumes({ filters })).Volumes ?? [], [], 'no labelled volume left');
  t.ok(await docker.getImage(tag).inspect(), 'images survive a clean without --all');
  await t.rejects(network.inspect(), 'the network is really gone');
});
