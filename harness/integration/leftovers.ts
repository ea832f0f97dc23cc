import { readdir } from 'node:fs/promises';
import type Docker from 'dockerode';
import { Labels, managedFilter } from '../engine/labels.ts';

/**
 * Containers and networks of the runs whose folders are under `resultsDir`: a test's own
 * leftovers, counted without minding other runs on the same engine (a soak in another terminal).
 */
export async function runObjects(docker: Docker, resultsDir: string): Promise<number> {
  const runs = new Set(await readdir(resultsDir).catch(() => []));
  const filters = JSON.stringify(managedFilter());
  const containers = await docker.listContainers({ all: true, filters });
  const networks = await docker.listNetworks({ filters });
  const ours = (labels: Record<string, string> | undefined) => runs.has(labels?.[Labels.RUN] ?? '');
  return containers.filter((c) => ours(c.Labels)).length + networks.filter((n) => ours(n.Labels)).length;
}
