import { ErrorCodes, HuntError } from './errors.ts';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "90s", "30m", "8h", "1h30m", "2d" -> milliseconds. Anything else is a usage error. */
export function parseDuration(text: string): number {
  const parts = [...text.trim().matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)];
  const joined = parts.map((part) => part[0]).join('');
  if (parts.length === 0 || joined !== text.trim())
    throw new HuntError(
      ErrorCodes.USAGE,
      `"${text}" is not a duration: write a number with a unit, e.g. 90s, 30m, 8h or 1h30m.`,
    );
  const ms = parts.reduce((sum, [, amount, unit]) => sum + Number(amount) * (UNITS[unit as string] ?? 0), 0);
  if (ms <= 0 || ms > 30 * 86_400_000)
    throw new HuntError(ErrorCodes.USAGE, `A duration from 1 ms to 30 days, not "${text}".`);
  return Math.round(ms);
}

/** 125000 -> "2m05s", for status lines and reports. */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return `${h}h${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m${String(s).padStart(2, '0')}s`;
  return `${s}s`;
}
