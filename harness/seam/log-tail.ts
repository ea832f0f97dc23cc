import { type FileHandle, open, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

export interface LogLine {
  /** Position in this log, from 1: a mark to search after. */
  seq: number;
  /** When the harness read it (ms since the epoch). */
  receivedAt: number;
  /** The system's own timestamp, where the line has one and the tail has a parser (ms since the epoch). */
  loggedAt: number | undefined;
  text: string;
}

/**
 * Lines a LogTail keeps by default: a few minutes of a busy master's log (about 2,300 lines a
 * minute with 100 simulated endpoints and reloads every few seconds), enough for context lines
 * and for an observer that starts watching after the stack is up. 20,000 held about 25 MB for
 * two masters' logs (sampled heap profile of a soak), and a quiet agent's log took over an hour
 * to fill its ring: the harness's memory grew all that time. The whole log is on disk.
 */
export const DEFAULT_RING_LINES = 5_000;

export interface LogTailOptions {
  /** Lines kept in memory for searches; older ones are only on disk. */
  ringSize?: number;
  pollMs?: number;
  /** Longest line kept whole; longer ones are cut (a runaway log must not eat memory). */
  maxLineBytes?: number;
  /** Reads the system's timestamp off a line (Icinga's "[2026-11-21 07:30:01 +0000]", syslog's, ...). */
  parseTimestamp?: (line: string) => number | undefined;
  /**
   * Begin at the file's end as it is now (a log the harness did not start: months of it are not
   * news); a replaced or truncated file is then read from its start, as always.
   */
  fromEnd?: boolean;
}

/**
 * Follows a log file that a container appends to (bind-mounted from the run folder), like
 * `tail -F`: polls for growth, starts over when the file is truncated or replaced, keeps the last
 * `ringSize` lines for searches, and tells subscribers about each new line.
 */
export class LogTail {
  readonly path: string;
  private readonly ring: LogLine[] = [];
  private readonly ringSize: number;
  private readonly pollMs: number;
  private readonly maxLineBytes: number;
  private readonly parseTimestamp: (line: string) => number | undefined;
  private readonly listeners = new Set<(line: LogLine) => void>();
  private seq = 0;
  private position = 0;
  private partial = '';
  private stopped = false;
  private skipExisting: boolean;
  private markLooked: () => void = () => {};
  private readonly firstLook = new Promise<void>((resolve) => {
    this.markLooked = resolve;
  });
  private readonly loop: Promise<void>;

  constructor(path: string, options: LogTailOptions = {}) {
    this.path = path;
    this.ringSize = options.ringSize ?? DEFAULT_RING_LINES;
    this.pollMs = options.pollMs ?? 100;
    this.maxLineBytes = options.maxLineBytes ?? 64 * 1024;
    this.parseTimestamp = options.parseTimestamp ?? (() => undefined);
    this.skipExisting = options.fromEnd === true;
    this.loop = this.follow();
  }

  /** The seq of the newest line: pass it to `since` to see only what comes after now. */
  mark(): number {
    return this.seq;
  }

  /** Lines after `seq` still in memory (at most `ringSize`), oldest first. */
  since(seq: number): LogLine[] {
    return this.ring.filter((line) => line.seq > seq).slice(-this.ringSize);
  }

  subscribe(listener: (line: LogLine) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The first line after `afterSeq` that matches, or undefined when `timeoutMs` runs out. */
  async waitFor(
    pattern: RegExp,
    options: { afterSeq?: number; timeoutMs: number },
  ): Promise<LogLine | undefined> {
    const afterSeq = options.afterSeq ?? 0;
    const existing = this.since(afterSeq).find((line) => pattern.test(line.text));
    if (existing) return existing;
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish(undefined), options.timeoutMs);
      const unsubscribe = this.subscribe((line) => {
        if (line.seq > afterSeq && pattern.test(line.text)) finish(line);
      });
      function finish(line: LogLine | undefined): void {
        clearTimeout(timer);
        unsubscribe();
        resolve(line);
      }
    });
  }

  /** Resolves once the tail has looked for its file the first time (with fromEnd: where it begins). */
  looked(): Promise<void> {
    return this.firstLook;
  }

  /** Reads what is left, then stops following. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }

  private async follow(): Promise<void> {
    let handle: FileHandle | undefined;
    let inode: number | undefined;
    const buffer = Buffer.alloc(256 * 1024);
    try {
      for (;;) {
        const finalPass = this.stopped;
        if (!handle) {
          handle = await open(this.path, 'r').catch(() => undefined);
          inode = handle ? (await handle.stat()).ino : undefined;
          this.position = handle && this.skipExisting ? (await handle.stat()).size : 0;
          this.partial = '';
        }
        // Only the file there at the first look: one that appears or replaces it later is all news.
        this.skipExisting = false;
        this.markLooked();
        if (handle) {
          if ((await handle.stat()).size < this.position) {
            // Truncated (copytruncate rotation): start from the top.
            await handle.close();
            handle = undefined;
            continue;
          }
          for (;;) {
            const { bytesRead } = await handle.read(buffer, 0, buffer.length, this.position);
            if (bytesRead === 0) break;
            this.position += bytesRead;
            this.consume(buffer.subarray(0, bytesRead).toString('utf8'));
          }
          const onDisk = await stat(this.path).catch(() => undefined);
          if (onDisk && onDisk.ino !== inode) {
            // Replaced (rotation by rename, a restarted container): the old file was read to its
            // end just now, so nothing written to it before the rename is lost; then the new one.
            await handle.close();
            handle = undefined;
            continue;
          }
        }
        if (finalPass) break;
        await sleep(this.pollMs);
      }
    } finally {
      this.markLooked();
      await handle?.close();
    }
  }

  private consume(chunk: string): void {
    const parts = (this.partial + chunk).split('\n');
    this.partial = parts.pop() ?? '';
    if (this.partial.length > this.maxLineBytes) {
      parts.push(this.partial.slice(0, this.maxLineBytes));
      this.partial = '';
    }
    for (const raw of parts) {
      const text = raw.length > this.maxLineBytes ? raw.slice(0, this.maxLineBytes) : raw;
      if (!text) continue;
      const line: LogLine = {
        seq: ++this.seq,
        receivedAt: Date.now(),
        loggedAt: this.parseTimestamp(text),
        text,
      };
      this.ring.push(line);
      // Trim in batches: amortised O(1) per line instead of a shift per line.
      if (this.ring.length > this.ringSize * 1.25) this.ring.splice(0, this.ring.length - this.ringSize);
      for (const listener of this.listeners) listener(line);
    }
  }
}
