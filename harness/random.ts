/**
 * Seeded randomness: every random choice of a run (jitter, toxicity, check states) comes from
 * a generator derived from the run's seed, so a run can be repeated exactly.
 */
export type Random = () => number;

/** mulberry32: small, fast, good enough for test schedules (not for secrets). */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A generator for one named part of a run: the same seed and name give the same sequence. */
export function derivedRandom(seed: number, name: string): Random {
  let hash = seed >>> 0;
  for (let i = 0; i < name.length; i++) hash = Math.imul(hash ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return seededRandom(hash);
}
