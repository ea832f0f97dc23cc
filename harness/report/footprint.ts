import { linearSlope } from '../stats.ts';

/** One `harness-resources` sample as the report reads it. */
export interface FootprintPoint {
  at: string;
  rssKb: number;
  /** history.jsonl's size then (runs written before it was recorded have none). */
  historyBytes?: number;
  /** The run folder's size then (recorded every few minutes). */
  folderBytes?: number;
}

/** The harness's own memory, history and run folder, an hour at a time, and its RSS trend. */
export interface HarnessFootprint {
  hours: Array<{
    /** 1 for the first hour of the run. */
    hour: number;
    samples: number;
    rssMinKb: number;
    rssMaxKb: number;
    /** At the hour's last sample that had it; null where none did. */
    historyBytes: number | null;
    folderBytes: number | null;
  }>;
  /**
   * Least-squares slope of RSS over time after the warm-up, and as a share of its mean (a
   * process still growing to its working size is not a leak; what grows after is). Null with
   * fewer than 10 samples after it.
   */
  rssTrend: { kbPerHour: number; percentPerHour: number; samples: number; afterMs: number } | null;
}

const HOUR_MS = 3_600_000;
/** The RSS trend is read after this: connections, caches and the heap settle in the first minutes. */
export const WARM_UP_MS = 15 * 60_000;

/**
 * Pure: the footprint of a run whose samples span at least an hour (a short run has no hours to
 * compare), else undefined. `startedAt` is the run's start; samples before it count as its first.
 */
export function harnessFootprint(
  points: readonly FootprintPoint[],
  startedAt: string,
): HarnessFootprint | undefined {
  const start = Date.parse(startedAt);
  const timed = points
    .map((point) => ({ ...point, ms: Math.max(0, Date.parse(point.at) - start) }))
    .filter((point) => Number.isFinite(point.ms) && point.rssKb > 0);
  const last = timed.at(-1);
  if (!last || last.ms < HOUR_MS) return undefined;

  const hours: HarnessFootprint['hours'] = [];
  for (const point of timed) {
    const hour = Math.floor(point.ms / HOUR_MS) + 1;
    let row = hours.at(-1);
    if (row?.hour !== hour) {
      row = {
        hour,
        samples: 0,
        rssMinKb: point.rssKb,
        rssMaxKb: point.rssKb,
        historyBytes: null,
        folderBytes: null,
      };
      hours.push(row);
    }
    row.samples++;
    row.rssMinKb = Math.min(row.rssMinKb, point.rssKb);
    row.rssMaxKb = Math.max(row.rssMaxKb, point.rssKb);
    if (point.historyBytes !== undefined) row.historyBytes = point.historyBytes;
    if (point.folderBytes !== undefined) row.folderBytes = point.folderBytes;
  }

  const settled = timed.filter((point) => point.ms >= WARM_UP_MS);
  const slope = linearSlope(settled.map((point) => ({ x: point.ms / HOUR_MS, y: point.rssKb })));
  const mean = settled.reduce((sum, point) => sum + point.rssKb, 0) / Math.max(1, settled.length);
  const rssTrend =
    settled.length >= 10 && slope !== undefined && mean > 0
      ? {
          kbPerHour: Math.round(slope),
          percentPerHour: Math.round((slope / mean) * 1000) / 10,
          samples: settled.length,
          afterMs: WARM_UP_MS,
        }
      : null;
  return { hours, rssTrend };
}
