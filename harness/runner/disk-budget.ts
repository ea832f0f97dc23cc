import { copyFile, rm, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCodes, HuntError } from '../errors.ts';
import { RunLayout } from '../run/layout.ts';
import type { Run } from '../run/run.ts';
import { bytesOnDisk, type FolderFile, folderFiles } from '../run/run-folder.ts';

const MiB = 1024 * 1024;

/** The smallest --disk-cap: room for a ring, a history and a few incidents (decimal, as --disk-cap reads sizes). */
export const MIN_DISK_CAP = 256_000_000;

/** --disk-cap checked: HH_USAGE below MIN_DISK_CAP (or not a number). */
export function checkDiskCap(bytes: number): void {
  if (!(bytes >= MIN_DISK_CAP))
    throw new HuntError(
      ErrorCodes.USAGE,
      `--disk-cap must be at least ${MIN_DISK_CAP / 1e6}MB (a capture ring, a history and a few incidents), not ${bytes} bytes.`,
    );
}

/**
 * How a run folder's disk cap is shared. The parts that grow with time get fixed budgets
 * (history, key logs, capture rings, node logs); what is left is for incidents, whose captures
 * the keeper prunes oldest first when the folder nears the cap.
 */
export interface DiskBudget {
  capBytes: number;
  /** history.jsonl: all events, and the routine ones (swarm connects, proxied connections). */
  historyBytes: number;
  routineBytes: number;
  /** Each key log (two generations of it on disk at most). */
  keylogBytes: number;
  /** The capture ring of each node: files x fileMb. */
  ring: { files: number; fileMb: number };
  /** All node logs together (icinga2.log, container.log; each with one old generation). */
  logBytes: number;
}

/** Files in each node's capture ring (tcpdump -W). */
const RING_FILES = 8;

/**
 * Pure: the budget of a run folder under `capBytes`, for `nodes` captured nodes. Each node's ring
 * is a fifth of the cap shared out, or `ringBytes` where the user chose it (--ring).
 */
export function budgetFor(capBytes: number, nodes = 2, ringBytes?: number): DiskBudget {
  const share = (fraction: number) => Math.floor(capBytes * fraction);
  const ringPerNode = share(0.2) / Math.max(1, nodes);
  return {
    capBytes,
    historyBytes: Math.min(share(0.25), 2048 * MiB),
    routineBytes: Math.min(share(0.08), 512 * MiB),
    keylogBytes: Math.min(share(0.015), 128 * MiB),
    ring:
      ringBytes === undefined
        ? {
            files: RING_FILES,
            fileMb: Math.max(1, Math.min(256, Math.floor(ringPerNode / RING_FILES / MiB))),
          }
        : // tcpdump -C counts millions of bytes, not MiB: the ring holds at most what was asked.
          { files: RING_FILES, fileMb: Math.floor(ringBytes / RING_FILES / 1e6) },
    logBytes: share(0.1),
  };
}

/** The smallest --ring: one million-byte file per slot of the ring. */
export const MIN_RING = RING_FILES * 1e6;

/**
 * --ring checked against the folder's cap: HH_USAGE below MIN_RING, or where the rings of
 * `nodes` nodes would take more than half the cap (the rest is history, logs and incidents).
 */
export function checkRing(ringBytes: number, capBytes: number, nodes = 1): void {
  if (!(ringBytes >= MIN_RING))
    throw new HuntError(
      ErrorCodes.USAGE,
      `--ring must be at least ${MIN_RING / 1e6}MB (${RING_FILES} files of 1 MB), not ${ringBytes} bytes.`,
    );
  if (ringBytes * nodes > capBytes / 2)
    throw new HuntError(
      ErrorCodes.USAGE,
      `--ring ${Math.round(ringBytes / 1e6)}MB takes more than half of --disk-cap ${Math.round(capBytes / 1e6)}MB: ` +
        'the rest holds the history, the logs and the incidents. Raise --disk-cap or lower --ring.',
    );
}

export type { FolderFile } from '../run/run-folder.ts';

/** Pure: what to do to bring a folder back under its budget. */
export interface Upkeep {
  /** Node logs over their share: keep the current one as <log>.1, start it empty. */
  rotate: string[];
  /** Incident captures to delete, in this order (windows first, oldest first; then cut streams). */
  remove: string[];
  /** Bytes the folder holds after the upkeep (estimate). */
  after: number;
}

/**
 * Oldest routine data goes first, incident evidence last: node logs rotate at their share;
 * when the folder is above 90% of the cap, incident windows go (oldest incident first), then
 * the cut streams. Summaries (capture.txt), excerpts and incident.json are never removed.
 */
export function planUpkeep(files: readonly FolderFile[], budget: DiskBudget): Upkeep {
  const logs = files.filter((file) => RunLayout.isNodeLog(file.path));
  const perLog = budget.logBytes / Math.max(1, logs.length) / 2;
  const rotate = logs.filter((file) => file.bytes > perLog).map((file) => file.path);
  const rotated = new Set(rotate);
  // A rotation moves the log to <log>.1 (replacing the old .1): the new .1 is what the log held.
  let total = bytesOnDisk(
    files.filter((file) => !(file.path.endsWith('.log.1') && rotated.has(file.path.slice(0, -2)))),
  );
  const remove: string[] = [];
  const limit = budget.capBytes * 0.9;
  const captures = (name: string) =>
    files
      .filter((file) => RunLayout.isIncidentFile(file.path) && file.path.endsWith(`/${name}`))
      .sort((a, b) => a.path.localeCompare(b.path));
  const removed = new Set<string>();
  for (const file of [...captures('window.pcapng'), ...captures('capture.pcapng')]) {
    if (total <= limit) break;
    if (removed.has(file.path)) continue;
    // A window shared by incidents is hard-linked into each folder: its bytes go with its last link.
    const links = file.inode === undefined ? [file] : files.filter((other) => other.inode === file.inode);
    for (const link of links) {
      removed.add(link.path);
      remove.push(link.path);
    }
    total -= file.bytes;
  }
  return { rotate, remove, after: total };
}

/**
 * Holds a run folder under its cap while the run goes on (every 30 s): the runner starts it for
 * soaks. Everything it does is recorded in the history (`disk-upkeep`).
 */
export class DiskBudgetKeeper {
  private readonly run: Run;
  private readonly budget: DiskBudget;
  private readonly timer: NodeJS.Timeout;
  private busy: Promise<void> | undefined;
  /** The largest folder size seen (bytes), for the report and the soak test. */
  peakBytes = 0;

  private constructor(run: Run, budget: DiskBudget, intervalMs: number) {
    this.run = run;
    this.budget = budget;
    this.timer = setInterval(() => {
      this.busy ??= this.upkeep().finally(() => {
        this.busy = undefined;
      });
    }, intervalMs);
    this.timer.unref();
  }

  static start(run: Run, budget: DiskBudget, intervalMs = 30_000): DiskBudgetKeeper {
    return new DiskBudgetKeeper(run, budget, intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.busy;
  }

  async upkeep(): Promise<void> {
    const files = await folderFiles(this.run.dir);
    const before = bytesOnDisk(files);
    this.peakBytes = Math.max(this.peakBytes, before);
    const plan = planUpkeep(files, this.budget);
    for (const path of plan.rotate) {
      const full = join(this.run.dir, path);
      // The writer keeps its descriptor (O_APPEND): copy, then truncate; lines written between
      // the two (milliseconds) are lost, the incidents' excerpts were taken long before.
      await copyFile(full, `${full}.1`);
      await truncate(full, 0);
    }
    for (const path of plan.remove) await rm(join(this.run.dir, path), { force: true });
    if (plan.rotate.length > 0 || plan.remove.length > 0)
      this.run.history.record('run', 'disk-upkeep', {
        bytesBefore: before,
        bytesAfter: plan.after,
        capBytes: this.budget.capBytes,
        rotated: plan.rotate,
        removed: plan.remove,
      });
  }
}
