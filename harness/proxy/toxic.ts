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

/** Waits until performance.now() reaches `until` (no wait when it already has). */
export function sleepUntil(until: number): Promise<void> {
  const ms = until - performance.now();
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}

export function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}
