import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { ErrorCodes, HuntError } from '../errors.ts';
import type { HistoryEvent } from './history.ts';
import { LineSplitter } from './line-splitter.ts';

/** A line longer than this is not an event the harness wrote: skipped and counted, never held whole. */
export const MAX_LINE_BYTES = 4 * 1024 * 1024;

export interface ReadStats {
  events: number;
  /** Lines that are not a JSON event (a run killed mid-write leaves at most one, the last). */
  skipped: number;
}

/**
 * Every event of a history.jsonl, in order, one at a time (a soak's history is hundreds of MB).
 * Tolerant by design: a run killed with SIGKILL may end in half a line, which is skipped and
 * counted in `stats`, as is any line that is not an event.
 */
export async function* eachEvent(path: string, stats: ReadStats = { events: 0, skipped: 0 }) {
  await stat(path).catch((error: NodeJS.ErrnoException) => {
    throw new HuntError(
      ErrorCodes.RUN_NOT_FOUND,
      `No history at ${path} (${error.code}): name a run folder made by hunt run (results/<run-id>).`,
    );
  });
  const splitter = new LineSplitter(MAX_LINE_BYTES);
  const take = (line: string) => {
    const event = parseEvent(line);
    if (event) stats.events++;
    else if (line.length > 0) stats.skipped++;
    return event;
  };
  for await (const chunk of createReadStream(path)) {
    for (const line of splitter.push(chunk as Buffer)) {
      const event = take(line);
      if (event) yield event;
    }
  }
  const last = splitter.end();
  const event = last === undefined ? undefined : take(last);
  if (event) yield event;
  stats.skipped += splitter.overlong;
}

/** The whole history in memory: for tests and small runs; reports stream with eachEvent. */
export async function readHistory(path: string): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  for await (const event of eachEvent(path)) events.push(event);
  return events;
}

/** One line -> an event, or undefined when it is not one (garbage, a cut line, too long). */
export function parseEvent(line: string): HistoryEvent | undefined {
  if (line.length === 0 || line.length > MAX_LINE_BYTES || line[0] !== '{') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const event = value as Record<string, unknown>;
  if (typeof event.t !== 'number' || typeof event.type !== 'string' || typeof event.source !== 'string')
    return undefined;
  if (typeof event.at !== 'string') return undefined;
  return event as HistoryEvent;
}
