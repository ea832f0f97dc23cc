import { join } from 'node:path';
import { ErrorCodes, HuntError } from '../errors.ts';
import { loadRegistry } from '../registry.ts';
import type { Detector } from './detector.ts';

const DETECTORS_DIR = join(import.meta.dirname, 'detectors');

let loaded: Map<string, Detector> | undefined;

/**
 * Every detector, keyed by name: each file in detectors/ (tests aside) default-exports one.
 * Adding a detector is adding a file; nothing else changes.
 */
export async function detectors(): Promise<Map<string, Detector>> {
  loaded ??= await loadRegistry<Detector>(
    DETECTORS_DIR,
    'detector',
    (detector) => detector.name || undefined,
  );
  return loaded;
}

/** The detectors named (all when `names` is undefined); an unknown name is a usage error. */
export async function chooseDetectors(names?: readonly string[]): Promise<Detector[]> {
  const all = await detectors();
  if (names === undefined) return [...all.values()];
  return names.map((name) => {
    const detector = all.get(name);
    if (!detector)
      throw new HuntError(
        ErrorCodes.USAGE,
        `Unknown detector "${name}". Known: ${[...all.keys()].join(', ')}.`,
      );
    return detector;
  });
}
