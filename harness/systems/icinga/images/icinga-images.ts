import type { SystemImages } from '../../../seam/target.ts';
import { catalogueEntry, imageTag, parseVersionList } from './catalogue.ts';
import { buildIcingaImage, listIcingaImages, resolveUserImage } from './icinga-image.ts';

/** Icinga's images: one per catalogue version, built offline from the Debian packages. */
export const icingaImages: SystemImages = {
  tag: imageTag,
  parseVersions: (value) => parseVersionList(value).map((entry) => entry.version),
  build: (docker, version, progress, options = {}) =>
    buildIcingaImage(docker, catalogueEntry(version), progress, options.signal, options),
  list: listIcingaImages,
  check: (docker, reference, progress) => resolveUserImage(docker, reference, progress),
};
