import { ErrorCodes, HuntError } from '../errors.ts';
import type { Detector } from './detector.ts';
import acceptQueue from './detectors/accept-queue.ts';
import fieldSignature from './detectors/field-signature.ts';
import logLines from './detectors/log-lines.ts';
import logSilence from './detectors/log-silence.ts';
import reloadOutcomes from './detectors/reload-outcomes.ts';
import resetSpike from './detectors/reset-spike.ts';
import swarmHandshakes from './detectors/swarm-handshakes.ts';
import throughputStall from './detectors/throughput-stall.ts';
import workers from './detectors/workers.ts';

/**
 * Every detector, one file each in detectors/, listed here so tsc checks each entry (a test
 * checks that no file in detectors/ is left out). Adding a detector: its file, its test beside
 * it, and a line here.
 */
export const detectorList: readonly Detector[] = [
  acceptQueue,
  fieldSignature,
  logLines,
  logSilence,
  reloadOutcomes,
  resetSpike,
  swarmHandshakes,
  throughputStall,
  workers,
];

const byName = new Map(detectorList.map((detector) => [detector.name, detector]));

/** Every detector, keyed by name. */
export async function detectors(): Promise<Map<string, Detector>> {
  return byName;
}

/** The detectors named (all when `names` is undefined); an unknown name is a usage error. */
export async function chooseDetectors(names?: readonly string[]): Promise<Detector[]> {
  if (names === undefined) return [...detectorList];
  return names.map((name) => {
    const detector = byName.get(name);
    if (!detector)
      throw new HuntError(
        ErrorCodes.USAGE,
        `Unknown detector "${name}". Known: ${[...byName.keys()].join(', ')}.`,
      );
    return detector;
  });
}
