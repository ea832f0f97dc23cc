import type Docker from 'dockerode';
import { Labels, managedFilter, type OwnerState, ownerState } from './labels.ts';

export interface CleanResult {
  containers: string[];
  networks: string[];
  volumes: string[];
  images: string[];
  /** Objects left in place because the process that owns them still runs (or runs elsewhere). */
  kept: Array<{ kind: 'container' | 'network' | 'volume'; name: string; owner: string; state: OwnerState }>;
}

export interface CleanOptions {
  /** Also remove the harness's images and compiler caches (a later run rebuilds them). */
  images?: boolean;
  /** Remove the untagged stages image builds leave behind; tagged images stay. */
  stages?: boolean;
  /** Only what one run created. */
  runId?: string;
  /** Also remove objects of runs whose owner is alive or on another host. */
  force?: boolean;
}

/**
 * Removes the run objects whose owner is gone: containers first (they hold networks and
 * volumes), then networks, volumes, and with `images` the images. Objects of a run still alive
 * are kept (two runs on one engine never reap each other) unless `force`. Idempotent; an object
 * that vanished meanwhile is not an error.
 */
export async function cleanManaged(docker: Docker, options: CleanOptions = {}): Promise<CleanResult> {
  const filters = JSON.stringify(managedFilter(options.runId));
  const result: CleanResult = { containers: [], networks: [], volumes: [], images: [], kept: [] };
  const orphan = (
    kind: CleanResult['kept'][number]['kind'],
    name: string,
    labels?: Record<string, string>,
  ) => {
    const owner = labels?.[Labels.OWNER];
    const state = ownerState(owner);
    if (state === 'gone' || options.force) return true;
    result.kept.push({ kind, name, owner: owner ?? '', state });
    return false;
  };

  for (const info of await docker.listContainers({ all: true, filters })) {
    const name = info.Names[0]?.replace(/^\//, '') ?? info.Id.slice(0, 12);
    if (!orphan('container', name, info.Labels)) continue;
    await ignoreGone(docker.getContainer(info.Id).remove({ force: true, v: true }));
    result.containers.push(name);
  }
  for (const info of await docker.listNetworks({ filters })) {
    if (!orphan('network', info.Name, info.Labels)) continue;
    await ignoreGone(docker.getNetwork(info.Id).remove());
    result.networks.push(info.Name);
  }
  const volumes = await docker.listVolumes({ filters });
  for (const info of volumes.Volumes ?? []) {
    if (!orphan('volume', info.Name, info.Labels)) continue;
    await ignoreGone(docker.getVolume(info.Name).remove());
    result.volumes.push(info.Name);
  }
  if (options.images) {
    // The compiler caches of source builds: image-like, kept by every clean but this one.
    const caches = await docker.listVolumes({ filters: JSON.stringify({ label: [`${Labels.IMAGE}=true`] }) });
    for (const info of caches.Volumes ?? []) {
      await ignoreGone(docker.getVolume(info.Name).remove());
      result.volumes.push(info.Name);
    }
  }
  if (options.stages || options.images) {
    // A multi-stage build keeps its earlier stages as untagged images (0.5 GB and more each);
    // they inherit the base's IMAGE label. Without them the next rebuild redoes those steps.
    const stages = await docker.listImages({
      filters: JSON.stringify({ label: [`${Labels.IMAGE}=true`], dangling: ['true'] }),
    });
    for (const info of stages) {
      if (await removeUnused(docker, info.Id)) result.images.push(info.Id);
    }
    // A layer of the harness's tools on a user's image is built once per image id: each rebuild of
    // that image leaves the layer on the old one behind (270 MB each), serving nothing. The old
    // image itself lingers untagged (an image with children is only untagged), so "gone" means
    // no tag names it any more.
    const layers = await docker.listImages({ filters: JSON.stringify({ label: [Labels.LAYER_OF] }) });
    for (const info of layers) {
      const userImage = info.Labels?.[Labels.LAYER_OF] ?? '';
      if (!(await imageSuperseded(docker, userImage))) continue;
      const name = info.RepoTags?.[0] ?? info.Id;
      if (await removeUnused(docker, name)) result.images.push(name);
    }
  }
  if (options.images) {
    // Images built before the IMAGE label carry managed=true: take both.
    const byId = new Map<string, Docker.ImageInfo>();
    for (const label of [`${Labels.IMAGE}=true`, `${Labels.MANAGED}=true`])
      for (const info of await docker.listImages({ filters: JSON.stringify({ label: [label] }) }))
        byId.set(info.Id, info);
    // Newest first, so derived images go before the bases they were built from.
    for (const info of [...byId.values()].sort((a, b) => b.Created - a.Created)) {
      await ignoreGone(docker.getImage(info.Id).remove({ force: true }));
      result.images.push(info.RepoTags?.[0] ?? info.Id);
    }
  }
  return result;
}

/** Removes an image unless a container still uses it (409: a build in progress); false if kept or gone. */
function removeUnused(docker: Docker, id: string): Promise<boolean> {
  return docker
    .getImage(id)
    .remove()
    .then(
      () => true,
      (error: { statusCode?: number }) => {
        if (error.statusCode === 404 || error.statusCode === 409) return false;
        throw error;
      },
    );
}

/** Whether the image is gone, or no tag names it any more (its tag was rebuilt or removed). */
async function imageSuperseded(docker: Docker, id: string): Promise<boolean> {
  if (!id) return false;
  return docker
    .getImage(id)
    .inspect()
    .then(
      (image) => (image.RepoTags ?? []).length === 0,
      (error: { statusCode?: number }) => {
        if (error.statusCode === 404) return true;
        throw error;
      },
    );
}

async function ignoreGone(operation: Promise<unknown>): Promise<void> {
  try {
    await operation;
  } catch (error) {
    const status = (error as { statusCode?: number }).statusCode;
    if (status !== 404) throw error;
  }
}
