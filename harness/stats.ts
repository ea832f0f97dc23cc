/** Nearest-rank percentile of a sample (p in 0..100); NaN for an empty sample. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

export interface Summary {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

export function summarize(values: readonly number[]): Summary {
  const mean = values.reduce((sum, value) => sum + value, 0) / (values.length || 1);
  return {
    n: values.length,
    p50: percentile(values, 50),
    p95: percentile(values, 95),
    p99: percentile(values, 99),
    max: values.reduce((most, value) => Math.max(most, value), values.length ? -Infinity : Number.NaN),
    mean: Math.round(mean * 10) / 10,
  };
}

/** "1.23x": how many times `value` is `reference`. */
export function ratio(value: number, reference: number): string {
  return `${(value / reference).toFixed(2)}x`;
}

/**
 * Wilson score interval (95%) for `events` out of `trials`, per `per` trials: a rate with honest
 * bounds, and an upper bound above zero when nothing happened (0 in 100 reloads is not 0%).
 */
export function wilsonInterval(
  events: number,
  trials: number,
  per = 1,
): { rate: number; low: number; high: number } | undefined {
  if (trials <= 0) return undefined;
  const z = 1.959964;
  const p = events / trials;
  const denominator = 1 + (z * z) / trials;
  const centre = (p + (z * z) / (2 * trials)) / denominator;
  const half = (z * Math.sqrt((p * (1 - p)) / trials + (z * z) / (4 * trials * trials))) / denominator;
  return { rate: p * per, low: Math.max(0, centre - half) * per, high: Math.min(1, centre + half) * per };
}
