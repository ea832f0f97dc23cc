import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

/** One thing that happened: an action or an observation. */
export interface HistoryEvent {
  /** Milliseconds since the history was opened (monotonic clock). */
  t: number;
  /** Wall clock, ISO 8601, to line events up with Icinga's logs and captures. */
  at: string;
  /** Who reports it: swarm, proxy, reload, observe, ... */
  source: string;
  type: string;
  [field: string]: unknown;
}

export interface EventSink {
  record(source: string, type: string, fields?: Record<string, unknown>): void;
}

/** For code run without a history (unit tests, ad-hoc tools). */
export const discardEvents: EventSink = { record() {} };

/**
 * The run's append-only event history, history.jsonl: the single source of truth reports are
 * derived from. Bounded: past `maxBytes` events are counted but not written, and one
 * `history-truncated` event says how many were dropped when it closes.
 */
export class History implements EventSink {
  readonly path: string;
  private readonly origin = performance.now();
  private readonly stream: WriteStream;
  private readonly maxBytes: number;
  private written = 0;
  private dropped = 0;
  private readonly listeners = new Set<(event: HistoryEvent) => void>();

  private constructor(path: string, stream: WriteStream, maxBytes: number) {
    this.path = path;
    this.stream = stream;
    this.maxBytes = maxBytes;
  }

  static async open(path: string, options: { maxBytes?: number } = {}): Promise<History> {
    await mkdir(dirname(path), { recursive: true });
    return new History(path, createWriteStream(path, { flags: 'a' }), options.maxBytes ?? 512 * 1024 * 1024);
  }

  record(source: string, type: string, fields: Record<string, unknown> = {}): void {
    const event: HistoryEvent = {
      t: Math.round((performance.now() - this.origin) * 10) / 10,
      at: new Date().toISOString(),
      source,
      type,
      ...fields,
    };
    for (const listener of this.listeners) listener(event);
    const line = `${JSON.stringify(event)}\n`;
    if (this.written + line.length > this.maxBytes) {
      this.dropped++;
      return;
    }
    this.written += line.length;
    this.stream.write(line);
  }

  /** Live observers (detectors) see every event, written or not. */
  subscribe(listener: (event: HistoryEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    if (this.dropped > 0) {
      this.stream.write(
        `${JSON.stringify({ t: performance.now() - this.origin, at: new Date().toISOString(), source: 'history', type: 'history-truncated', dropped: this.dropped })}\n`,
      );
    }
    await new Promise<void>((resolve) => this.stream.end(resolve));
  }
}
