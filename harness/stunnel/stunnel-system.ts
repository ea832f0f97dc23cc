import { ErrorCodes, HuntError } from '../errors.ts';
import type { SystemUnderTest } from '../target/target.ts';
import { LogRateRecorder } from './log-rate-recorder.ts';
import { stunnelEntry, stunnelVersions } from './stunnel-image.ts';
import { StunnelTarget } from './stunnel-target.ts';

/**
 * stunnel in front of a web server as a system under test: versions from the Debian catalogue
 * (--stunnel 5.56|5.68|5.74), built with its log sink and backend (docker/stunnel). Observing it
 * records its log lines per second; the load a scenario starts records itself.
 */
export const stunnel: SystemUnderTest<StunnelTarget, object> = {
  name: 'stunnel',
  versions: stunnelVersions,
  defaultVersion: '5.68',
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
    return new LogRateRecorder(target.watched, target.run.history);
  },
};
