import { statfs } from 'node:fs/promises';
import { ErrorCodes, HuntError } from '../errors.ts';

export interface DiskSpace {
  freeBytes: number;
  totalBytes: number;
}

const MiB = 1024 * 1024;

/**
 * Room a run keeps free on its results disk: enough for the report, summary and timeline written
 * at the end (a few MB) and the closing history lines. 1% of the disk, from 8 MiB to 256 MiB.
 */
export function reserveFor(totalBytes: number): number {
  return Math.min(256 * MiB, Math.max(8 * MiB, Math.round(totalBytes * 0.01)));
}

export async function diskSpace(dir: string): Promise<DiskSpace> {
  const stats = await statfs(dir);
  return { freeBytes: stats.bavail * stats.bsize, totalBytes: stats.blocks * stats.bsize };
}

/** Whether an error from the file system says the disk (or the user's quota) is full. */
export function isDiskFull(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

export function diskFullError(dir: string, detail: string, cause?: unknown): HuntError {
  return new HuntError(
    ErrorCodes.DISK_FULL,
    `The disk of ${dir} is full (${detail}): the run stopped. What it wrote is readable up to the ` +
      'last complete history line. Free space (or choose a larger disk with --results), then ' +
      `render the report with: hunt report ${dir}`,
    { cause },
  );
}

/**
 * Watches the free space of a run's disk and calls `onFull` once, when it falls under the
 * reserve: the run then stops while there is still room to close the history and write the
 * report, instead of failing writes half-way. A failed write (ENOSPC) is the backstop.
 */
export class DiskGuard {
  private readonly dir: string;
  private readonly onFull: (error: HuntError) => void;
  private readonly timer: NodeJS.Timeout;
  private fired = false;
  private checking = false;

  private constructor(dir: string, onFull: (error: HuntError) => void, intervalMs: number) {
    this.dir = dir;
    this.onFull = onFull;
    this.timer = setInterval(() => void this.check(), intervalMs);
    this.timer.unref();
  }

  static watch(dir: string, onFull: (error: HuntError) => void, intervalMs = 1000): DiskGuard {
    return new DiskGuard(dir, onFull, intervalMs);
  }

  /** Called by writers whose write failed: a full disk stops the run the same way. */
  failed(error: unknown): void {
    if (isDiskFull(error)) this.fire(diskFullError(this.dir, (error as Error).message, error));
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async check(): Promise<void> {
    if (this.checking || this.fired) return;
    this.checking = true;
    try {
      const space = await diskSpace(this.dir);
      const reserve = reserveFor(space.totalBytes);
      if (space.freeBytes < reserve)
        this.fire(
          diskFullError(
            this.dir,
            `${formatMiB(space.freeBytes)} free of ${formatMiB(space.totalBytes)}, under the ${formatMiB(reserve)} a run keeps free`,
          ),
        );
    } catch {
      // statfs failing (the folder removed under us) is for the writers to report.
    } finally {
      this.checking = false;
    }
  }

  private fire(error: HuntError): void {
    if (this.fired) return;
    this.fired = true;
    this.onFull(error);
  }
}

function formatMiB(bytes: number): string {
  return `${(bytes / MiB).toFixed(1)} MiB`;
}
