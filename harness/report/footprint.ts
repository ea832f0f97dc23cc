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
  /** One row per hour (of several hours each past MAX_ROWS hours, so report.md stays pasteable). */
  hours: Array<{
    /** 1 for the first hour of the run. */
    hour: number;
    /** The row's last hour (the same as `hour` for a row of one). */
    toHour: number;
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
/** Rows in the table at most: a watch of weeks gets rows of several hours each. */
const MAX_ROWS = 48;
/** The RSS trend is read after this: connections, caches and the heap settle in the first minutes. */
export const WARM_UP_MS = 15 * 60_000;

/**
 * Pure: the footprint of a run that lasted an hour or more (`durationMs`; for a run that never
 * ended, its samples' span), else undefined: a short run has no hours to compare. Hours count from
 * `from`, when the target was up: an image build before it is not the harness's warm-up.
 */
export function harnessFootprint(
  points: readonly FootprintPoint[],
  from: string,
  durationMs: number | null,
): HarnessFootprint | undefined {
  const start = Date.parse(from);
  const timed = points
    .map((point) => ({ ...point, ms: Math.max(0, Date.parse(point.at) - start) }))
    .filter((point) => Number.isFinite(point.ms) && point.rssKb > 0);
  const last = timed.at(-1);
  if (!last || (durationMs ?? last.ms) < HOUR_MS) return undefined;

  const hoursPerRow = Math.max(1, Math.ceil((Math.floor(last.ms / HOUR_MS) + 1) / MAX_ROWS));
  const hours: HarnessFootprint['hours'] = [];
  for (const point of timed) {
    const hour = Math.floor(point.ms / HOUR_MS / hoursPerRow) * hoursPerRow + 1;
    let row = hours.at(-1);
    if (row?.hour !== hour) {
      row = {
        hour,
        toHour: hour + hoursPerRow - 1,
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
