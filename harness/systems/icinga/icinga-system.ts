import type { SystemUnderTest } from '../../seam/target.ts';
import { icingaDetectors } from './detectors/index.ts';
import { catalogueVersions } from './images/catalogue.ts';
import { checkIcingaVersion, icingaImages } from './images/icinga-images.ts';
import { ICINGA_ANCHORS, reloadFigures, reloadStepOf } from './reload/reload-record.ts';
import { icingaReportSections } from './report-sections.ts';
import { IcingaStack } from './stack/icinga-stack.ts';
import { type ObserverOptions, StackObserver } from './stack-observer.ts';
import { SWARM_ROUTINE_EVENTS } from './swarm/swarm.ts';
import { icingaWatch } from './watch/icinga-watch.ts';

/**
 * Icinga 2 as a system under test: versions from the Debian catalogue (--icinga), or a
 * user-named image; IcingaStack builds it; StackObserver watches its masters; `hunt watch`
 * attaches to a user's own daemon.
 */
export const icinga: SystemUnderTest<IcingaStack, ObserverOptions> = {
  name: 'icinga',
  versions: catalogueVersions,
  stepUnit: 'reloads',
  stepOf: reloadStepOf,
  stepFigures: reloadFigures,
  anchors: ICINGA_ANCHORS,
  reportSections: icingaReportSections,
  routineEvents: SWARM_ROUTINE_EVENTS,
  defaultVersion: '2.13.6',
  detectors: icingaDetectors,
  images: icingaImages,
  watch: icingaWatch,
  checkVersion: checkIcingaVersion,
  builder(selection) {
    return 'image' in selection ? IcingaStack.image(selection.image) : IcingaStack.version(selection.version);
  },
  observe(stack, options) {
    return new StackObserver(stack, options).start();
  },
};
