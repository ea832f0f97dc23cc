import type Docker from 'dockerode';
import { Labels } from '../engine/labels.ts';
import type { ImageListing } from '../seam/target.ts';

/** What a probe of an image (its binary run once) reports. */
export interface ImageProbe {
  version: string | undefined;
  banner: string;
  openssl: string | undefined;
}

/**
 * Every tagged image that carries `versionLabel` (the label a system's recipe sets), each probed
 * by running its binary: a listing says what the image runs, not what its tag claims.
 */
export async function listLabelledImages(
  docker: Docker,
  system: string,
  versionLabel: string,
  probe: (tag: string) => Promise<ImageProbe>,
): Promise<ImageListing[]> {
  const images = await docker.listImages({ filters: JSON.stringify({ label: [versionLabel] }) });
  const listings: ImageListing[] = [];
  for (const info of images) {
    const tag = info.RepoTags?.find((candidate) => candidate !== '<none>:<none>');
    if (!tag) continue;
    listings.push({
      system,
      tag,
      imageId: info.Id,
      sizeBytes: info.Size,
      created: new Date(info.Created * 1000).toISOString(),
      catalogueVersion: info.Labels?.[versionLabel],
      builtFrom: info.Labels?.[Labels.BUILT_FROM] ?? 'packages',
      ...(await probe(tag)),
    });
  }
  return listings.sort((a, b) => a.tag.localeCompare(b.tag, 'en', { numeric: true }));
}
