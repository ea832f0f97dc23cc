import type Docker from 'dockerode';
import { managedFilter } from './labels.ts';

export interface CleanResult {
  containers: string[];
  networks: string[];
  volumes: string[];
  images: string[];
}

export interface CleanOptions {
  /** Also remove the harness's images (a later run rebuilds them). */
  images?: boolean;
  /** Only what one run created. */
  runId?: string;
}

/**
 * Removes everything carrying the harness's labels: containers first (they hold networks and
 * volumes), then networks, volumes, and with `images` the images. Idempotent; an object that
 * vanished meanwhile is not an error.
 */
export async function cleanManaged(docker: Docker, options: CleanOptions = {}): Promise<CleanResult> {
  const filters = JSON.stringify(managedFilter(options.runId));
  const result: CleanResult = { containers: [], networks: [], volumes: [], images: [] };

  for (const info of await docker.listContainers({ all: true, filters })) {
    await ignoreGone(docker.getContainer(info.Id).remove({ force: true, v: true }));
    result.containers.push(info.Names[0]?.replace(/^\//, '') ?? info.Id.slice(0, 12));
  }
  for (const info of await docker.listNetworks({ filters })) {
    await ignoreGone(docker.getNetwork(info.Id).remove());
    result.networks.push(info.Name);
  }
  const volumes = await docker.listVolumes({ filters });
  for (const info of volumes.Volumes ?? []) {
    await ignoreGone(docker.getVolume(info.Name).remove());
    result.volumes.push(info.Name);
  }
  if (options.images) {
    // Newest first, so derived images go before the bases they were built from.
    const images = (await docker.listImages({ filters })).sort((a, b) => b.Created - a.Created);
    for (const info of images) {
      await ignoreGone(docker.getImage(info.Id).remove({ force: true }));
      result.images.push(info.RepoTags?.[0] ?? info.Id);
    }
  }
  return result;
}

async function ignoreGone(operation: Promise<unknown>): Promise<void> {
  try {
    await operation;
  } catch (error) {
    const status = (error as { statusCode?: number }).statusCode;
    if (status !== 404) throw error;
  }
}
