import { Pool } from 'undici';
import { ErrorCodes, HuntError } from '../../errors.ts';
import type { LoadSecond as RecordedSecond } from '../../observe/load-second.ts';
import type { EventSink } from '../../run/history.ts';
import { percentile } from '../../stats.ts';

export interface LoadOptions {
  /** Requests per second offered, in all (1 to 5,000). */
  rate: number;
  /** Keep-alive connections the share of the rate below goes over (default 8). */
  keepAliveConnections?: number;
  /** The share of requests on keep-alive connections (0 to 1, default 0.5); the rest each open a new connection. */
  keepAliveShare?: number;
  /** The backend path (default /small). */
  path?: string;
  /** How long a request may take, connect and TLS included (default 5 s). */
  timeoutMs?: number;
  /** Requests in flight at most; an offered request over it is counted as dropped (default 1,000). */
  maxInFlight?: number;
  /** Stops by itself after this long (default 1 h, at most 24 h): the load is bounded in time too. */
  forMs?: number;
}

export interface LoadTarget {
  /** The node the load goes to: the events name it. */
  node: string;
  url: string;
  ca: string;
  servername: string;
}

const MAX_RATE = 5_000;
const TICK_MS = 10;

/**
 * HTTP(S) load on undici: keep-alive clients (one pool of long-lived connections) and
 * new-connection clients (a request each, then the connection closes) at a set rate, every
 * request bounded by a timeout, the outcome aggregated per second into the history as
 * `load:second` (latency percentiles, completions, timeouts, resets): an hour is 3,600 events.
 */
export class LoadGenerator {
  private readonly keepAlive: Pool;
  private readonly fresh: Pool;
  private readonly options: Required<LoadOptions>;
  private readonly events: EventSink;
  private readonly node: string;
  private readonly timer: NodeJS.Timeout;
  private readonly secondTimer: NodeJS.Timeout;
  private readonly started = performance.now();
  private issued = 0;
  private keepAliveCredit = 0;
  private inFlight = 0;
  private current = emptySecond();
  private latencies: number[] = [];
  private readonly totals = { offered: 0, completed: 0, timeouts: 0, resets: 0, errors: 0, dropped: 0 };
  private stopped: Promise<void> | undefined;
  /** Set once stop() closes the pools: the failures that follow are ours, not the target's. */
  private closing = false;
  private readonly ended: Promise<void>;
  private resolveEnded: () => void = () => undefined;
  private readonly settled = new Set<Promise<void>>();

  private constructor(target: LoadTarget, options: Required<LoadOptions>, events: EventSink) {
    this.options = options;
    this.events = events;
    this.node = target.node;
    this.ended = new Promise((resolve) => {
      this.resolveEnded = resolve;
    });
    const connect = {
      ca: target.ca,
      servername: target.servername,
      rejectUnauthorized: true,
      timeout: options.timeoutMs,
    };
    this.keepAlive = new Pool(target.url, {
      connections: options.keepAliveConnections,
      connect,
      keepAliveTimeout: 60_000,
      keepAliveMaxTimeout: 600_000,
    });
    this.fresh = new Pool(target.url, { connections: options.maxInFlight, connect });
    events.record('load', 'load-started', { node: target.node, url: target.url, ...options });
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.secondTimer = setInterval(() => this.flushSecond(), 1_000);
  }

  static start(target: LoadTarget, options: LoadOptions, events: EventSink): LoadGenerator {
    return new LoadGenerator(target, checkLoadOptions(options), events);
  }

  /** Open keep-alive connections, and how many there may be (the status line's clients). */
  connections(): { open: number; limit: number } {
    return { open: this.keepAlive.stats.connected, limit: this.options.keepAliveConnections };
  }

  /** Everything so far. */
  summary(): typeof this.totals {
    return { ...this.totals };
  }

  private tick(): void {
    const elapsed = performance.now() - this.started;
    if (elapsed >= this.options.forMs) {
      void this.stop();
      return;
    }
    // Due by now at the set rate. After a stall of the harness itself at most a second's worth is
    // caught up; the rest is given up (a burst of our making would look like the target's).
    const expected = Math.floor((elapsed / 1000) * this.options.rate);
    this.issued = Math.max(this.issued, expected - this.options.rate);
    while (this.issued < expected) this.issue();
  }

  private issue(): void {
    this.issued++;
    this.current.offered++;
    if (this.inFlight >= this.options.maxInFlight) {
      this.current.dropped++;
      return;
    }
    this.keepAliveCredit += this.options.keepAliveShare;
    const viaKeepAlive = this.keepAliveCredit >= 1;
    if (viaKeepAlive) this.keepAliveCredit -= 1;
    this.inFlight++;
    const begun = performance.now();
    const request = (viaKeepAlive ? this.keepAlive : this.fresh)
      .request({
        method: 'GET',
        path: this.options.path,
        reset: !viaKeepAlive,
        signal: AbortSignal.timeout(this.options.timeoutMs),
        headersTimeout: this.options.timeoutMs,
        bodyTimeout: this.options.timeoutMs,
      })
      .then(async (response) => {
        await response.body.dump({ limit: 2 * 1024 * 1024 });
        if (response.statusCode >= 400)
          throw Object.assign(new Error(`HTTP ${response.statusCode}`), { code: 'HTTP' });
        this.current.completed++;
        if (viaKeepAlive) this.current.keepAliveCompleted++;
        else this.current.freshCompleted++;
        if (this.latencies.length < 100_000) this.latencies.push(performance.now() - begun);
      })
      .catch((error: unknown) => this.countFailure(error))
      .finally(() => {
        this.inFlight--;
        this.settled.delete(request);
      });
    this.settled.add(request);
  }

  private countFailure(error: unknown): void {
    if (this.closing) return; // torn down by stop(): not the target's doing
    const kind = failureKind(error);
    if (kind === 'timeout') this.current.timeouts++;
    else if (kind === 'reset') this.current.resets++;
    else this.current.errors++;
  }

  private flushSecond(): void {
    const second = this.current;
    const sorted = this.latencies.sort((a, b) => a - b);
    second.inFlight = this.inFlight;
    second.p50Ms = sorted.length ? round(percentile(sorted, 50)) : null;
    second.p99Ms = sorted.length ? round(percentile(sorted, 99)) : null;
    second.maxMs = sorted.length ? round(sorted[sorted.length - 1] as number) : null;
    for (const key of ['offered', 'completed', 'timeouts', 'resets', 'errors', 'dropped'] as const)
      this.totals[key] += second[key];
    this.events.record('load', 'second', { node: this.node, ...second });
    this.current = emptySecond();
    this.latencies = [];
  }

  /** Stops offering, gives requests in flight a moment (1 s), then closes every connection. */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      // A load stopped before its time (a soak's duration, Ctrl-C) says so: its episode is not
      // over, and is not judged as one that ran.
      const cutShort = performance.now() - this.started < this.options.forMs;
      try {
        clearInterval(this.timer);
        const grace = new Promise((resolve) => setTimeout(resolve, 1_000).unref());
        await Promise.race([Promise.allSettled([...this.settled]), grace]);
        clearInterval(this.secondTimer);
        this.flushSecond();
        this.closing = true;
        await Promise.all([this.keepAlive.destroy(), this.fresh.destroy()]).catch(() => undefined);
        this.events.record('load', 'load-stopped', {
          node: this.node,
          ...this.summary(),
          ...(cutShort ? { cutShort: true } : {}),
        });
      } finally {
        clearInterval(this.secondTimer);
        this.resolveEnded();
      }
    })();
    return this.stopped;
  }

  /** Resolves once the load has run its `forMs` (or was stopped); `signal` stops it sooner. */
  async finished(signal?: AbortSignal): Promise<void> {
    const onAbort = () => void this.stop();
    if (signal?.aborted) onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await this.ended;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/** A failure as the load counts it: a timeout, a reset (RST or the peer closing), or another error. */
export function failureKind(error: unknown): 'timeout' | 'reset' | 'error' {
  const e = error as { code?: string; name?: string; cause?: { code?: string } };
  const codes = [e?.code, e?.cause?.code];
  if (
    e?.name === 'TimeoutError' ||
    codes.some((code) => code !== undefined && /TIMEOUT|ETIMEDOUT/.test(code))
  )
    return 'timeout';
  if (codes.some((code) => code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE'))
    return 'reset';
  return 'error';
}

export function checkLoadOptions(options: LoadOptions): Required<LoadOptions> {
  const full: Required<LoadOptions> = {
    rate: options.rate,
    keepAliveConnections: options.keepAliveConnections ?? 8,
    keepAliveShare: options.keepAliveShare ?? 0.5,
    path: options.path ?? '/small',
    timeoutMs: options.timeoutMs ?? 5_000,
    maxInFlight: options.maxInFlight ?? 1_000,
    forMs: options.forMs ?? 3_600_000,
  };
  const bad = (what: string) => new HuntError(ErrorCodes.USAGE, `Load: ${what}.`);
  const whole = (value: number, min: number, max: number) =>
    Number.isInteger(value) && value >= min && value <= max;
  if (!whole(full.rate, 1, MAX_RATE))
    throw bad(`rate is 1 to ${MAX_RATE} requests per second, not ${full.rate}`);
  if (!whole(full.keepAliveConnections, 1, 1_000))
    throw bad(`keepAliveConnections is 1 to 1000, not ${full.keepAliveConnections}`);
  if (!(full.keepAliveShare >= 0 && full.keepAliveShare <= 1))
    throw bad(`keepAliveShare is 0 to 1, not ${full.keepAliveShare}`);
  if (!/^\/[A-Za-z0-9._/-]*$/.test(full.path))
    throw bad(`path is an absolute URL path, not ${JSON.stringify(full.path)}`);
  if (!whole(full.timeoutMs, 100, 600_000)) throw bad(`timeoutMs is 100 to 600000, not ${full.timeoutMs}`);
  if (!whole(full.maxInFlight, 1, 10_000)) throw bad(`maxInFlight is 1 to 10000, not ${full.maxInFlight}`);
  if (!whole(full.forMs, 1, 24 * 3_600_000)) throw bad(`forMs is 1 ms to 24 h, not ${full.forMs}`);
  return full;
}

/** A second as the generator counts it; the event adds the node. */
export type LoadSecond = Omit<RecordedSecond, 'node'>;

function emptySecond(): LoadSecond {
  return {
    offered: 0,
    completed: 0,
    keepAliveCompleted: 0,
    freshCompleted: 0,
    timeouts: 0,
    resets: 0,
    errors: 0,
    dropped: 0,
    inFlight: 0,
    p50Ms: null,
    p99Ms: null,
    maxMs: null,
  };
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
