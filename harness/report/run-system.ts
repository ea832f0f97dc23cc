import { type RunManifest, targetOf } from '../run/manifest.ts';

/**
 * The run's system among `systems`: the one run.json names, or its target's; for a run written
 * before either said so (a user's image), the one whose detectors it used.
 */
export function systemOfRun<System extends { name: string; detectors: ReadonlyArray<{ name: string }> }>(
  meta: RunManifest,
  systems: readonly System[],
): System | undefined {
  const name = meta.system ?? targetOf(meta).system;
  if (name !== undefined) return systems.find((system) => system.name === name);
  const used = Array.isArray(meta.detectors) ? meta.detectors : [];
  return systems.find((system) => system.detectors.some((detector) => used.includes(detector.name)));
}
