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

/**
 * A distribution-free 95% interval for the median: the order statistics around n/2 that cover
 * it with 95% probability (binomial, normal approximation). Undefined below 6 samples.
 */
export function medianInterval(values: readonly number[]): { low: number; high: number } | undefined {
  const n = values.length;
  if (n < 6) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const spread = 0.98 * Math.sqrt(n); // 1.96 * sqrt(n) / 2
  const lowRank = Math.max(1, Math.floor(n / 2 - spread));
  const highRank = Math.min(n, Math.ceil(n / 2 + 1 + spread));
  return { low: sorted[lowRank - 1] as number, high: sorted[highRank - 1] as number };
}

/** Least-squares slope of y over x; undefined with fewer than 2 distinct x. */
export function linearSlope(points: ReadonlyArray<{ x: number; y: number }>): number | undefined {
  const n = points.length;
  if (n < 2) return undefined;
  const meanX = points.reduce((sum, p) => sum + p.x, 0) / n;
  const meanY = points.reduce((sum, p) => sum + p.y, 0) / n;
  let covariance = 0;
  let variance = 0;
  for (const p of points) {
    covariance += (p.x - meanX) * (p.y - meanY);
    variance += (p.x - meanX) ** 2;
  }
  return variance === 0 ? undefined : covariance / variance;
}

/**
 * One-sided Mann-Whitney U test: the p-value for "values of `b` tend to be larger than those of
 * `a`" (normal approximation with a tie correction; undefined below 6 samples a side). It compares
 * whole distributions, so it holds up where medians jump between modes (reconnects that wait
 * for Icinga's 10 s reconnect timer, or do not).
 */
export function mannWhitneyGreater(a: readonly number[], b: readonly number[]): number | undefined {
  const n1 = a.length;
  const n2 = b.length;
  if (n1 < 6 || n2 < 6) return undefined;
  const all = [
    ...a.map((value) => ({ value, fromB: false })),
    ...b.map((value) => ({ value, fromB: true })),
  ].sort((x, y) => x.value - y.value);
  let rankSumB = 0;
  let tieTerm = 0;
  for (let i = 0; i < all.length; ) {
    let j = i;
    while (j + 1 < all.length && all[j + 1]?.value === all[i]?.value) j++;
    const rank = (i + j) / 2 + 1; // average rank of the tie group
    const size = j - i + 1;
    tieTerm += size ** 3 - size;
    for (let k = i; k <= j; k++) if (all[k]?.fromB) rankSumB += rank;
    i = j + 1;
  }
  const u = rankSumB - (n2 * (n2 + 1)) / 2;
  const n = n1 + n2;
  const variance = ((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1)));
  if (variance <= 0) return 1;
  const z = (u - (n1 * n2) / 2 - 0.5) / Math.sqrt(variance); // with continuity correction
  return 1 - normalCdf(z);
}

/** Standard normal CDF (Abramowitz-Stegun 7.1.26 via erf; error < 1.5e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) *
      t *
      Math.exp(-x * x);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}
