import { ErrorCodes, HuntError } from '../../errors.ts';
import type { SystemUnderTest } from '../../seam/target.ts';
import { AcceptQueueRecorder } from './accept-queue-recorder.ts';
import { stunnelDetectors } from './detectors/index.ts';
import { LogRateRecorder } from './log-rate-recorder.ts';
import { STUNNEL_PORT } from './stunnel-config.ts';
import {
  buildStunnelImage,
  listStunnelImages,
  parseStunnelVersions,
  stunnelEntry,
  stunnelImageTag,
  stunnelVersions,
} from './stunnel-image.ts';
import { STUNNEL, StunnelTarget } from './stunnel-target.ts';

/**
 * stunnel in front of a web server as a system under test: versions from the Debian catalogue
 * (--stunnel 5.56|5.68|5.74), built with its log sink and backend (docker/stunnel). Observing it
 * records its log lines per second and its listener's accept queue; the load a scenario starts
 * records itself.
 */
export const stunnel: SystemUnderTest<StunnelTarget, object> = {
  name: 'stunnel',
  versions: stunnelVersions,
  stepUnit: 'episodes',
  // An episode is one load a scenario starts (a soak starts one per episode); one the run's end
  // cut short is not done.
  stepOf(event) {
    if (event.source !== 'load') return undefined;
    if (event.type === 'load-started') return 'begun';
    if (event.type === 'load-stopped') return event.cutShort === true ? undefined : 'done';
    return undefined;
  },
  defaultVersion: '5.68',
  takesImages: false,
  detectors: stunnelDetectors,
  images: {
    tag: stunnelImageTag,
    parseVersions: (value) => parseStunnelVersions(value).map((entry) => entry.version),
    build: (docker, version, progress, options = {}) =>
      buildStunnelImage(docker, stunnelEntry(version), progress, options.signal, options),
    list: listStunnelImages,
  },
  checkVersion(version) {
    stunnelEntry(version);
  },
  builder(selection) {
    if ('image' in selection)
      throw new HuntError(
        ErrorCodes.USAGE,
        `stunnel runs on the harness's own images (its log sink and backend are in them), not ${selection.image}: ` +
          `pick a version with --stunnel ${stunnelVersions.join('|')}.`,
      );
    return StunnelTarget.version(selection.version);
  },
  observe(target) {
    const recorders = [
      new LogRateRecorder(target.watched, target.run.history),
      new AcceptQueueRecorder(target.node(STUNNEL), STUNNEL_PORT, target.run.history),
    ];
    return { stop: async () => void (await Promise.all(recorders.map((recorder) => recorder.stop()))) };
  },
};
