import { ErrorCodes, HuntError } from '../errors.ts';
import connectionFlood from './nemeses/connection-flood.ts';
import cpuStarve from './nemeses/cpu-starve.ts';
import hungWorker from './nemeses/hung-worker.ts';
import pause from './nemeses/pause.ts';
import processStop from './nemeses/process-stop.ts';
import reconnectBurst from './nemeses/reconnect-burst.ts';
import signal from './nemeses/signal.ts';
import toxic from './nemeses/toxic.ts';
import triggerFile from './nemeses/trigger-file.ts';
import type { NemesisType } from './nemesis.ts';

/**
 * Every nemesis, one file each in nemeses/, listed here so tsc checks each entry (a test checks
 * that no file is left out). Adding a nemesis: its file, its test, a line here.
 */
export const nemesisList: readonly NemesisType<object>[] = [
  connectionFlood,
  cpuStarve,
  hungWorker,
  pause,
  processStop,
  reconnectBurst,
  signal,
  toxic,
  triggerFile,
];

const byName = new Map(nemesisList.map((nemesis) => [nemesis.name, nemesis]));

export function nemesisType(name: string): NemesisType<object> {
  const found = byName.get(name);
  if (!found)
    throw new HuntError(
      ErrorCodes.USAGE,
      `Unknown nemesis "${name}". Known: ${[...byName.keys()].join(', ')}.`,
    );
  return found;
}
