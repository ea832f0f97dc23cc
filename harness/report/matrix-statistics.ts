import { linearSlope, medianInterval, percentile } from '../stats.ts';
import type { Timing } from './matrix.ts';

const MAX_TIMING_SAMPLES = 5000;

/** Each series' slope (KB per 1,000 reloads, within its own run); the steepest, as a leak shows in any. */
export function steepest(series: Array<Array<{ x: number; y: number }>>): number | null {
  const slopes = series.flatMap((points) => {
    const slope = linearSlope(points);
    return slope === undefined ? [] : [slope * 1000];
  });
  return slopes.length === 0 ? null : round(Math.max(...slopes));
}

/** A timing of the values: median with its 95% interval, the 99th percentile, the samples thinned. */
export function timing(values: number[]): Timing {
  if (values.length === 0) return { n: 0, p50: null, p50Low: null, p50High: null, p99: null, samples: [] };
  const interval = medianInterval(values);
  const sorted = [...values].sort((a, b) => a - b);
  const step = Math.max(1, sorted.length / MAX_TIMING_SAMPLES);
  const samples: number[] = [];
  for (let i = 0; i < sorted.length && samples.length < MAX_TIMING_SAMPLES; i += step)
    samples.push(round(sorted[Math.floor(i)] as number));
  return {
    n: values.length,
    p50: round(percentile(values, 50)),
    p50Low: interval ? round(interval.low) : null,
    p50High: interval ? round(interval.high) : null,
    p99: round(percentile(values, 99)),
    samples,
  };
}

/** One decimal. */
export const round = (value: number) => Math.round(value * 10) / 10;

/** A rate's interval to three decimals (none: null). */
export function roundRate(interval: { rate: number; low: number; high: number } | undefined) {
  if (!interval) return null;
  const r = (value: number) => Math.round(value * 1000) / 1000;
  return { rate: r(interval.rate), low: r(interval.low), high: r(interval.high) };
}
