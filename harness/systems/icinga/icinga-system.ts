import type { SystemUnderTest } from '../../seam/target.ts';
import { icingaDetectors } from './detectors/index.ts';
import { catalogueEntry, catalogueVersions, imageTag, parseVersionList } from './images/catalogue.ts';
import { buildIcingaImage, listIcingaImages, resolveUserImage } from './images/icinga-image.ts';
import { IcingaStack } from './stack/icinga-stack.ts';
import { type ObserverOptions, StackObserver } from './stack-observer.ts';

/**
 * Icinga 2 as a system under test: versions from the Debian catalogue (--icinga), or a
 * user-named image; IcingaStack builds it; StackObserver watches its masters.
 */
export const icinga: SystemUnderTest<IcingaStack, ObserverOptions> = {
  name: 'icinga',
  versions: catalogueVersions,
  stepUnit: 'reloads',
  defaultVersion: '2.13.6',
  detectors: icingaDetectors,
  images: {
    tag: imageTag,
    parseVersions: (value) => parseVersionList(value).map((entry) => entry.version),
    build: (docker, version, progress, options = {}) =>
      buildIcingaImage(docker, catalogueEntry(version), progress, options.signal, options),
    list: listIcingaImages,
    check: (docker, reference, progress) => resolveUserImage(docker, reference, progress),
  },
  checkVersion(version) {
    catalogueEntry(version);
  },
  builder(selection) {
    return 'image' in selection ? IcingaStack.image(selection.image) : IcingaStack.version(selection.version);
  },
  observe(stack, options) {
    return new StackObserver(stack, options).start();
  },
};
