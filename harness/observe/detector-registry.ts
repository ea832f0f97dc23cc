import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCodes, HuntError } from '../errors.ts';
import type { Detector } from './detector.ts';

const DETECTORS_DIR = join(import.meta.dirname, 'detectors');

let loaded: Map<string, Detector> | undefined;

/**
 * Every detector, keyed by name: each file in detectors/ (tests aside) default-exports one.
 * Adding a detector is adding a file; nothing else changes.
 */
export async function detectors(): Promise<Map<string, Detector>> {
  if (loaded) return loaded;
  const found = new Map<string, Detector>();
  for (const file of (await readdir(DETECTORS_DIR)).sort()) {
    if (!file.endsWith('.ts') || file.endsWith('.test.ts')) continue;
    const module = (await import(join(DETECTORS_DIR, file))) as { default?: Detector };
    const detector = module.default;
    if (!detector?.name) throw new Error(`detectors/${file} does not default-export a detector`);
    if (found.has(detector.name)) throw new Error(`detector "${detector.name}" is defined twice`);
    found.set(detector.name, detector);
  }
  loaded = found;
  return found;
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
