import { catalogueEntry, catalogueVersions } from '../images/catalogue.ts';
import { IcingaStack } from '../stack/icinga-stack.ts';
import type { SystemUnderTest } from '../target/target.ts';
import { type ObserverOptions, StackObserver } from './stack-observer.ts';

/**
 * Icinga 2 as a system under test: versions from the Debian catalogue (--icinga), or a
 * user-named image; IcingaStack builds it; StackObserver watches its masters.
 */
export const icinga: SystemUnderTest<IcingaStack, ObserverOptions> = {
  name: 'icinga',
  versions: catalogueVersions,
  defaultVersion: '2.13.6',
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
