import { ErrorCodes, HuntError } from '../errors.ts';
import type { Detector } from './detector.ts';

/**
 * The detectors named, out of those known (each system brings its own: `system.detectors`); all
 * known when `names` is undefined, none for []. An unknown or repeated name is a usage error that
 * lists the known ones.
 */
export function chooseDetectors(known: readonly Detector[], names?: readonly string[]): Detector[] {
  if (names === undefined) return [...known];
  const byName = new Map(known.map((detector) => [detector.name, detector]));
  return names.map((name) => {
    const detector = byName.get(name);
    if (!detector)
      throw new HuntError(
        ErrorCodes.USAGE,
        `Unknown detector "${name}". Known: ${[...byName.keys()].sort().join(', ')}.`,
      );
    return detector;
  });
}
