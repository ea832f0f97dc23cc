import type { Detector } from '../../../observe/detector.ts';
import fieldSignature from './field-signature.ts';
import logLines from './log-lines.ts';
import reloadOutcomes from './reload-outcomes.ts';
import swarmHandshakes from './swarm-handshakes.ts';
import workers from './workers.ts';

/**
 * Icinga's detectors, one file each in this folder, listed here so tsc checks each entry (a test
 * checks that no file is left out). Adding one: its file, its test, and a line here.
 */
export const icingaDetectors: readonly Detector[] = [
  fieldSignature,
  logLines,
  reloadOutcomes,
  swarmHandshakes,
  workers,
];
