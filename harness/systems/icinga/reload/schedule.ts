import { ErrorCodes, HuntError } from '../../../errors.ts';
import type { Random } from '../../../random.ts';

/** When the next reload starts, counted from the end of the previous one. */
export type Schedule =
  /** Every `everyMs`. */
  | { kind: 'fixed'; everyMs: number }
  /** everyMs ± jitterMs, drawn from the run's seed. */
  | { kind: 'jitter'; everyMs: number; jitterMs: number }
  /** `size` reloads back to back, then a pause of `pauseMs`. */
  | { kind: 'burst'; size: number; pauseMs: number }
  /** As fast as the barrier allows: the next starts when the last is verified. */
  | { kind: 'asap' };

/** The wait before reload number `index` (0-based); the first one starts at once. */
export function delayBefore(schedule: Schedule, index: number, random: Random): number {
  if (index === 0) return 0;
  switch (schedule.kind) {
    case 'fixed':
      return schedule.everyMs;
    case 'jitter':
      return Math.max(0, schedule.everyMs + (random() * 2 - 1) * schedule.jitterMs);
    case 'burst':
      return index % schedule.size === 0 ? schedule.pauseMs : 0;
    case 'asap':
      return 0;
  }
}

/** "asap", "fixed:1000", "jitter:1000:200", "burst:10:5000" (CLI form). */
export function parseSchedule(value: string): Schedule {
  const [kind, ...numbers] = value.split(':');
  const n = numbers.map(Number);
  const ok = n.every((x) => Number.isFinite(x) && x >= 0);
  if (kind === 'asap' && n.length === 0) return { kind: 'asap' };
  if (ok && kind === 'fixed' && n.length === 1) return { kind: 'fixed', everyMs: n[0] as number };
  if (ok && kind === 'jitter' && n.length === 2)
    return { kind: 'jitter', everyMs: n[0] as number, jitterMs: n[1] as number };
  if (ok && kind === 'burst' && n.length === 2 && (n[0] as number) >= 1)
    return { kind: 'burst', size: n[0] as number, pauseMs: n[1] as number };
  throw new HuntError(
    ErrorCodes.USAGE,
    `Unknown reload schedule "${value}". Use asap, fixed:<ms>, jitter:<ms>:<jitter ms> or burst:<count>:<pause ms>.`,
  );
}
