import type Docker from 'dockerode';
import { dockerClient, engineAddress, pingEngine } from '../../../engine/docker-engine.ts';
import { Labels } from '../../../engine/labels.ts';
import { ErrorCodes, HuntError } from '../../../errors.ts';
import { imageExists } from '../../../images/debian-base.ts';
import type { SystemImages } from '../../../seam/target.ts';
import {
  type CatalogueEntry,
  catalogueVersions,
  imageTag,
  parseVersionList,
  versionEntry,
} from './catalogue.ts';
import { buildIcingaImage, listIcingaImages, resolveUserImage, withHarnessParts } from './icinga-image.ts';
import { findIcingaSource } from './icinga-source.ts';
import { buildIcingaFromSource, listCompilerCaches } from './source-image.ts';

/**
 * Icinga's images: the catalogue's versions from Debian's packages, any other release (and
 * these too, with --source) compiled from Icinga's source.
 */
export const icingaImages: SystemImages = {
  tag: imageTag,
  parseVersions: (value, options = {}) =>
    parseVersionList(value).map((entry) => {
      if (entry.from === 'source' && options.source === undefined) throw needsSource(entry);
      return entry.version;
    }),
  build: (docker, version, progress, options = {}) => {
    const entry = versionEntry(version);
    if (options.source !== undefined)
      return buildIcingaFromSource(docker, entry, options.source, progress, options.signal, options);
    if (entry.from === 'source') throw needsSource(entry);
    return buildIcingaImage(docker, entry, progress, options.signal, options);
  },
  fromSource: {
    help: "a checkout of Icinga's icinga2 repository (with its release tags) or an unpacked release tarball",
    check: async (dir, version) => {
      await findIcingaSource(dir, versionEntry(version).version);
    },
  },
  list: listIcingaImages,
  caches: listCompilerCaches,
  check: async (docker, reference, progress) => {
    const checked = await resolveUserImage(docker, reference, progress);
    return { ...checked, runsAs: await withHarnessParts(docker, checked, progress) };
  },
};

function needsSource(entry: CatalogueEntry): HuntError {
  return new HuntError(
    ErrorCodes.VERSION_UNKNOWN,
    `Icinga ${entry.version} is not one Debian packages here (the catalogue: ${catalogueVersions.join(', ')}): ` +
      `build it from Icinga's source with --source DIR (${icingaImages.fromSource?.help}).`,
    { details: { version: entry.version, known: catalogueVersions } },
  );
}

/**
 * The image a run of `version` uses: the catalogue's, built if missing, or the one compiled from
 * source earlier (a run never compiles: that takes ten minutes and more).
 */
export async function imageForVersion(
  docker: Docker,
  version: string,
  progress: Parameters<typeof buildIcingaImage>[2],
  signal?: AbortSignal,
): Promise<string> {
  const entry = versionEntry(version);
  const tag = imageTag(entry.version);
  // A catalogue version the user compiled from source (--source) stays theirs: the package
  // recipe would see other inputs on the tag and build over it.
  const built = await docker
    .getImage(tag)
    .inspect()
    .catch(() => undefined);
  if (built?.Config.Labels?.[Labels.BUILT_FROM]?.startsWith('source ')) return tag;
  if (entry.from === 'package') return (await buildIcingaImage(docker, entry, progress, signal)).tag;
  if (built === undefined) throw noSourceImage(entry);
  return tag;
}

/**
 * Checks a version before a run creates anything: the catalogue's, or one compiled from source
 * whose image the engine has (where no engine answers yet, the run's start checks it).
 */
export async function checkIcingaVersion(version: string): Promise<void> {
  const entry = versionEntry(version);
  if (entry.from === 'package') return;
  const docker = dockerClient(engineAddress());
  if ((await pingEngine(docker)) === undefined) return;
  if (!(await imageExists(docker, imageTag(entry.version)))) throw noSourceImage(entry);
}

function noSourceImage(entry: CatalogueEntry): HuntError {
  return new HuntError(
    ErrorCodes.VERSION_UNKNOWN,
    `Icinga ${entry.version} has no image yet, and Debian does not package it here (the catalogue: ` +
      `${catalogueVersions.join(', ')}). Build it from Icinga's source first: hunt images build --icinga ` +
      `${entry.version} --source DIR (${icingaImages.fromSource?.help}).`,
    { details: { version: entry.version, known: catalogueVersions } },
  );
}
