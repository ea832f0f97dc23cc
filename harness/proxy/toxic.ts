import { ErrorCodes, HuntError } from '../errors.ts';
import type { Random } from '../random.ts';

/** Toxiproxy's names: upstream is client -> server, downstream is server -> client. */
export type Stream = 'upstream' | 'downstream';

export interface Chunk {
  data: Buffer;
  /** When the proxy read it (performance.now()): latency is measured from here. */
  arrivedAt: number;
}

/** What a toxic can do with its connection. */
export interface LinkOutput {
  /** Hands a chunk to the next toxic (or the socket); resolves when it has been taken. */
  push(chunk: Chunk): Promise<void>;
  /** Ends the connection with FIN in both directions. */
  close(reason: string): void;
  /** Ends the connection with RST in both directions. */
  reset(reason: string): void;
  /** Reports what the toxic did, for the history. */
  fired(action: string, fields?: Record<string, unknown>): void;
}

/** One toxic acting on one direction of one connection. */
export interface ToxicLink {
  /** Called for each chunk in order; a returned promise holds back later chunks (backpressure). */
  transform(chunk: Chunk, out: LinkOutput): Promise<void> | void;
  /** The sender finished (FIN): resolve when the FIN may travel on. */
  flush?(out: LinkOutput): Promise<void> | void;
  /** The connection is gone or the toxic was removed: stop timers. */
  dispose?(): void;
  /**
   * The toxic was removed while the connection lives (called before dispose): hand on at once
   * whatever the link holds, as Toxiproxy flushes a removed toxic's buffer.
   */
  release?(): Promise<void> | void;
}

export interface LinkContext {
  connectionId: number;
  stream: Stream;
  /** Seeded per connection and toxic. */
  random: Random;
  /** performance.now() when the connection was accepted. */
  connectedAt: number;
}

/** A kind of toxic, registered under its wire name (one file in toxics/ each). */
export interface ToxicType<Attributes extends object = Record<string, unknown>> {
  /** The wire name: "latency", "tls_length", ... */
  type: string;
  summary: string;
  /** Validates and fills defaults; throws HH_USAGE naming the bad attribute. */
  parse(attributes: Record<string, unknown>): Attributes;
  create(attributes: Attributes, context: LinkContext): ToxicLink;
}

/** Reads a numeric attribute with a default and a range; a clear error otherwise. */
export function numberAttribute(
  type: string,
  attributes: Record<string, unknown>,
  name: string,
  options: { default: number; min?: number; max?: number; integer?: boolean },
): number {
  const raw = attributes[name];
  const value = raw === undefined ? options.default : raw;
  const ok =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (options.min === undefined || value >= options.min) &&
    (options.max === undefined || value <= options.max) &&
    (!options.integer || Number.isInteger(value));
  if (!ok) {
    const range = `${options.min ?? '-inf'}..${options.max ?? 'inf'}${options.integer ? ', a whole number' : ''}`;
    throw new HuntError(
      ErrorCodes.USAGE,
      `Toxic ${type}: attribute "${name}" must be a number in ${range}, got ${JSON.stringify(raw)}.`,
    );
  }
  return value as number;
}

export function stringAttribute(
  type: string,
  attributes: Record<string, unknown>,
  name: string,
  fallback?: string,
): string {
  const value = attributes[name] ?? fallback;
  if (typeof value !== 'string' || !value) {
    throw new HuntError(
      ErrorCodes.USAGE,
      `Toxic ${type}: attribute "${name}" must be a non-empty string, got ${JSON.stringify(value)}.`,
    );
  }
  return value;
}

/**
 * Waits until performance.now() reaches `until`: never less, and without spinning. Node's timers
 * count whole milliseconds from the event loop's cached clock, so a timer is armed for the
 * remaining time rounded up, and where it still wakes early by performance.now() it is armed
 * again for what is left: one wake-up per due time, almost always (measured: 0.2 ms late at the
 * median), instead of polling the clock through setImmediate for the last milliseconds, which
 * kept a core busy while a latency toxic held data. Node keeps timers of one duration in one
 * list, so many connections' waits share its wake-ups. `signal` stops the wait (it rejects).
 */
export async function sleepUntil(until: number, signal?: AbortSignal): Promise<void> {
  for (let ms = until - performance.now(); ms > 0; ms = until - performance.now()) {
    if (!signal) {
      await new Promise((resolve) => setTimeout(resolve, Math.ceil(ms)));
      continue;
    }
    signal.throwIfAborted();
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal.reason);
      };
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, Math.ceil(ms));
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}

/** Waits at least `ms` milliseconds (fractions included), measured by the clock. */
export function sleep(ms: number): Promise<void> {
  return ms > 0 ? sleepUntil(performance.now() + ms) : Promise.resolve();
}

/**
 * Paces a sequence of events `intervalMs` apart. An interval of a millisecond or more is a real
 * gap every time (at least that long after the tick, as a timer can give). Shorter intervals
 * cannot be timed one by one, so they are batched against the clock: the schedule moves on by
 * each interval and the pacer waits only once it is a millisecond ahead; 1,000 slices 10 µs
 * apart take about 10 ms, not 1,000 timer turns.
 */
export class Pacer {
  private next: number;

  constructor(start = performance.now()) {
    this.next = start;
  }

  async tick(intervalMs: number): Promise<void> {
    if (intervalMs >= 1) {
      this.next = performance.now() + intervalMs;
      return sleepUntil(this.next);
    }
    this.next = Math.max(this.next, performance.now() - 1) + intervalMs;
    if (this.next - performance.now() >= 1) await sleepUntil(this.next);
  }

  /** Waits until the schedule's current point (after the last tick), however small the lead. */
  settle(): Promise<void> {
    return sleepUntil(this.next);
  }
}

/** Which connections a toxic applies to (all of the given conditions; none given: every one). */
export interface ConnectionSelector {
  /** Only the k-th connection this proxy accepted (1-based). */
  connection?: number;
  /** Only connections whose ClientHello asks for this server name (an Icinga endpoint name). */
  sni?: string;
  /** Only connections from this client address. */
  peer?: string;
  /** Only connections accepted in this window, ms after the proxy started. */
  fromMs?: number;
  toMs?: number;
}

/** A toxic as a proxy holds it: its spec parsed, its type's implementation. */
export interface ActiveToxic {
  name: string;
  type: string;
  streams: Stream[];
  toxicity: number;
  attributes: Record<string, unknown>;
  selector: ConnectionSelector;
  parsed: object;
  impl: ToxicType<object>;
}
