import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { ErrorCodes, HuntError } from '../errors.ts';
import { discardEvents, type EventSink } from '../run/history.ts';
import { type ConnectionHost, ProxyConnection } from './proxy-connection.ts';
import type { ActiveToxic, ConnectionSelector, Stream, ToxicType } from './toxic.ts';
import { toxicType } from './toxic-registry.ts';
import { assertLocalUpstream } from './upstream-guard.ts';

export type { ActiveToxic, ConnectionSelector } from './toxic.ts';

export interface Address {
  host: string;
  port: number;
}

export interface ToxicSpec {
  /** Default: "<type>_<stream>", as Toxiproxy names them. */
  name?: string;
  type: string;
  /** Default downstream, as in Toxiproxy; "both" adds one toxic acting on each direction. */
  stream?: Stream | 'both';
  /** Probability that a connection gets it, 0..1 (default 1), drawn from the proxy's seed. */
  toxicity?: number;
  attributes?: Record<string, unknown>;
  selector?: ConnectionSelector;
}

/** Toxiproxy's JSON shape for a toxic (stream "both" shows as its first stream). */
export interface ToxicInfo {
  name: string;
  type: string;
  stream: Stream | 'both';
  toxicity: number;
  attributes: Record<string, unknown>;
  selector?: ConnectionSelector;
}

export interface ChaosProxyOptions {
  name: string;
  listen: Address;
  upstream: Address;
  enabled?: boolean;
  /** Toxicity draws derive from it: a stack passes its run's (run.seedFor('proxy:<node>')). */
  seed: number;
  events?: EventSink;
}

export interface ProxyStats {
  accepted: number;
  active: number;
  upstreamErrors: number;
  bytesUpstream: number;
  bytesDownstream: number;
}

/**
 * A TCP proxy that injects faults: listen address -> upstream, with toxics added and removed
 * at run time. It never crashes on a bad peer: errors are per connection, counted and recorded.
 */
export class ChaosProxy implements ConnectionHost {
  readonly name: string;
  readonly seed: number;
  readonly stats: ProxyStats = {
    accepted: 0,
    active: 0,
    upstreamErrors: 0,
    bytesUpstream: 0,
    bytesDownstream: 0,
  };
  private listenAddress: Address;
  private upstreamAddress: Address;
  private server: Server | undefined;
  private readonly events: EventSink;
  private readonly toxicList: ActiveToxic[] = [];
  private readonly connections = new Set<ProxyConnection>();
  private readonly startedAt = performance.now();

  private constructor(options: ChaosProxyOptions) {
    this.name = options.name;
    this.listenAddress = options.listen;
    this.upstreamAddress = options.upstream;
    this.seed = options.seed;
    this.events = options.events ?? discardEvents;
  }

  static async start(options: ChaosProxyOptions): Promise<ChaosProxy> {
    validateAddress('listen', options.listen);
    await checkUpstream(options.upstream);
    const proxy = new ChaosProxy(options);
    if (options.enabled !== false) await proxy.enable();
    return proxy;
  }

  /** Where it listens (the real port, when 0 was asked for). */
  get listen(): Address {
    return this.listenAddress;
  }

  /** Where new connections go. */
  get upstream(): Address {
    return this.upstreamAddress;
  }

  /** Sends new connections elsewhere (open ones stay where they are); checked as at start. */
  async retarget(upstream: Address): Promise<void> {
    await checkUpstream(upstream);
    this.upstreamAddress = upstream;
    this.recordEvent('proxy-retargeted', { upstream: `${upstream.host}:${upstream.port}` });
  }

  get enabled(): boolean {
    return this.server !== undefined;
  }

  async enable(): Promise<void> {
    if (this.server) return;
    // pauseOnConnect: the connection takes the accepted socket over before it reads (large-reads.ts).
    const server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) =>
      this.accept(socket),
    );
    server.on('error', () => undefined);
    server.listen(this.listenAddress.port, this.listenAddress.host);
    try {
      await Promise.race([
        once(server, 'listening'),
        once(server, 'error').then(([error]) => {
          throw error;
        }),
      ]);
    } catch (error) {
      const code = (error as { code?: string }).code;
      throw new HuntError(
        ErrorCodes.PROXY_LISTEN,
        `Proxy ${this.name} cannot listen on ${this.listenAddress.host}:${this.listenAddress.port}: ${code ?? (error as Error).message}` +
          (code === 'EADDRINUSE' ? '. The port is in use: pick another, or 0 for any free port.' : '.'),
      );
    }
    const address = server.address() as { address: string; port: number };
    this.listenAddress = { host: this.listenAddress.host, port: address.port };
    this.server = server;
    this.recordEvent('proxy-enabled', {
      listen: `${this.listenAddress.host}:${address.port}`,
      upstream: `${this.upstreamAddress.host}:${this.upstreamAddress.port}`,
    });
  }

  /** Stops listening and drops every connection (Toxiproxy's "enabled: false"). */
  async disable(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const connection of this.connections) connection.reset('proxy disabled');
    await new Promise<void>((resolve) => server.close(() => resolve()));
    this.recordEvent('proxy-disabled', {});
  }

  async addToxic(spec: ToxicSpec): Promise<ToxicInfo> {
    const impl = await toxicType(spec.type);
    const stream = spec.stream ?? 'downstream';
    if (!['upstream', 'downstream', 'both'].includes(stream)) {
      throw new HuntError(
        ErrorCodes.USAGE,
        `Toxic stream must be upstream, downstream or both, not "${stream}".`,
      );
    }
    const toxicity = spec.toxicity ?? 1;
    if (typeof toxicity !== 'number' || !(toxicity >= 0 && toxicity <= 1)) {
      throw new HuntError(
        ErrorCodes.USAGE,
        `Toxicity is a probability from 0 to 1, not ${JSON.stringify(spec.toxicity)}.`,
      );
    }
    // toxiproxy-cli sends "name": "" when -n is left out: Toxiproxy's default name then too.
    const name = spec.name || `${spec.type}_${stream}`;
    if (this.toxicList.some((toxic) => toxic.name === name)) {
      throw new HuntError(ErrorCodes.PROXY_EXISTS, `Proxy ${this.name} already has a toxic named "${name}".`);
    }
    const toxic = this.buildToxic(
      name,
      spec.type,
      impl,
      stream,
      toxicity,
      spec.attributes ?? {},
      spec.selector,
    );
    this.toxicList.push(toxic);
    this.recordEvent('toxic-added', {
      toxic: name,
      toxicType: spec.type,
      stream,
      toxicity,
      attributes: toxic.attributes,
    });
    return info(toxic);
  }

  /** Checks a toxic whole (attributes parsed, defaults filled) before anything changes. */
  private buildToxic(
    name: string,
    type: string,
    impl: ToxicType<object>,
    stream: Stream | 'both',
    toxicity: number,
    attributes: Record<string, unknown>,
    selector: ConnectionSelector | undefined,
  ): ActiveToxic {
    const parsed = impl.parse(attributes);
    return {
      name,
      type,
      streams: stream === 'both' ? ['upstream', 'downstream'] : [stream],
      toxicity,
      // What the toxic does, defaults included: the API answers with these, as Toxiproxy does.
      attributes: { ...attributes, ...(parsed as Record<string, unknown>) },
      selector: selector ?? {},
      parsed,
      impl,
    };
  }

  /**
   * Changes a toxic's attributes (unnamed ones kept) and toxicity, as Toxiproxy's update does
   * (its name, type and stream stay). The new toxic is checked whole first: a rejected update
   * leaves the old one as it was. Open connections take the new settings from their next chunk.
   */
  async updateToxic(
    name: string,
    change: { toxicity?: number; attributes?: Record<string, unknown> },
  ): Promise<ToxicInfo> {
    const index = this.toxicList.findIndex((toxic) => toxic.name === name);
    const old = this.toxicList[index];
    if (!old) throw new HuntError(ErrorCodes.PROXY_NOT_FOUND, `Proxy ${this.name} has no toxic "${name}".`);
    const toxicity = change.toxicity ?? old.toxicity;
    if (typeof toxicity !== 'number' || !(toxicity >= 0 && toxicity <= 1))
      throw new HuntError(
        ErrorCodes.USAGE,
        `Toxicity is a probability from 0 to 1, not ${JSON.stringify(change.toxicity)}.`,
      );
    const attributes = { ...old.attributes, ...(change.attributes ?? {}) };
    const updated = this.buildToxic(
      name,
      old.type,
      old.impl,
      streamOf(old.streams),
      toxicity,
      attributes,
      old.selector,
    );
    this.toxicList[index] = updated;
    for (const connection of this.connections) connection.forget(name);
    this.recordEvent('toxic-updated', { toxic: name, toxicity, attributes: updated.attributes });
    return info(updated);
  }

  /**
   * Listens somewhere else (Toxiproxy's update of "listen"): the old listener closes and its
   * connections drop, the toxics stay; a proxy that was disabled stays disabled.
   */
  async moveListener(listen: Address): Promise<void> {
    validateAddress('listen', listen);
    const wasEnabled = this.enabled;
    await this.disable();
    const previous = this.listenAddress;
    this.listenAddress = listen;
    if (!wasEnabled) return;
    try {
      await this.enable();
    } catch (error) {
      this.listenAddress = previous;
      await this.enable().catch(() => undefined);
      throw error;
    }
  }

  removeToxic(name: string): void {
    const index = this.toxicList.findIndex((toxic) => toxic.name === name);
    if (index < 0)
      throw new HuntError(ErrorCodes.PROXY_NOT_FOUND, `Proxy ${this.name} has no toxic "${name}".`);
    this.toxicList.splice(index, 1);
    for (const connection of this.connections) connection.forget(name);
    this.recordEvent('toxic-removed', { toxic: name });
  }

  toxic(name: string): ToxicInfo & { streams: Stream[] } {
    const toxic = this.toxicList.find((candidate) => candidate.name === name);
    if (!toxic) throw new HuntError(ErrorCodes.PROXY_NOT_FOUND, `Proxy ${this.name} has no toxic "${name}".`);
    return { ...info(toxic), streams: toxic.streams };
  }

  toxics(): ToxicInfo[] {
    return this.toxicList.map(info);
  }

  /** Removes every toxic (the proxy stays as it is otherwise). */
  clearToxics(): void {
    for (const toxic of [...this.toxicList]) this.removeToxic(toxic.name);
  }

  async close(): Promise<void> {
    this.clearToxics();
    await this.disable();
  }

  /** Toxiproxy's JSON for this proxy. */
  toJSON(): { name: string; listen: string; upstream: string; enabled: boolean; toxics: ToxicInfo[] } {
    return {
      name: this.name,
      listen: `${this.listenAddress.host}:${this.listenAddress.port}`,
      upstream: `${this.upstreamAddress.host}:${this.upstreamAddress.port}`,
      enabled: this.enabled,
      toxics: this.toxics(),
    };
  }

  // ---- used by ProxyConnection ----

  toxicsFor(stream: Stream): ActiveToxic[] {
    return this.toxicList.length === 0
      ? []
      : this.toxicList.filter((toxic) => toxic.streams.includes(stream));
  }

  selects(toxic: ActiveToxic, connection: ProxyConnection): boolean {
    const s = toxic.selector;
    const age = connection.connectedAt - this.startedAt;
    return (
      (s.connection === undefined || s.connection === connection.id) &&
      (s.sni === undefined || s.sni === connection.sni) &&
      (s.peer === undefined || s.peer === connection.peer) &&
      (s.fromMs === undefined || age >= s.fromMs) &&
      (s.toMs === undefined || age < s.toMs)
    );
  }

  upstreamFailed(connection: ProxyConnection, error: Error & { code?: string }): void {
    this.stats.upstreamErrors++;
    this.recordEvent('upstream-error', {
      connection: connection.id,
      peer: connection.peer,
      error: error.code ?? error.message,
    });
  }

  connectionClosed(connection: ProxyConnection, reason: string): void {
    if (!this.connections.delete(connection)) return;
    this.stats.active--;
    this.stats.bytesUpstream += connection.bytes.upstream;
    this.stats.bytesDownstream += connection.bytes.downstream;
    this.recordEvent('connection-closed', { connection: connection.id, reason, ...connection.bytes });
  }

  recordEvent(type: string, fields: Record<string, unknown>): void {
    this.events.record('proxy', type, { proxy: this.name, ...fields });
  }

  private accept(socket: Socket): void {
    socket.on('error', () => undefined);
    const connection = new ProxyConnection(this, ++this.stats.accepted, socket);
    this.connections.add(connection);
    this.stats.active++;
    this.recordEvent('connection-opened', { connection: connection.id, peer: connection.peer });
  }
}

/** The spec's stream for a toxic's directions: one of them, or "both". */
function streamOf(streams: Stream[]): Stream | 'both' {
  return streams.length === 2 ? 'both' : (streams[0] as Stream);
}

function info(toxic: ActiveToxic): ToxicInfo {
  return {
    name: toxic.name,
    type: toxic.type,
    stream: streamOf(toxic.streams),
    toxicity: toxic.toxicity,
    attributes: { ...toxic.attributes },
    ...(Object.keys(toxic.selector).length > 0 ? { selector: toxic.selector } : {}),
  };
}

/** A well-formed address where fault traffic may go (upstream-guard.ts). */
async function checkUpstream(upstream: Address): Promise<void> {
  validateAddress('upstream', upstream);
  await assertLocalUpstream(upstream.host);
}

function validateAddress(what: string, address: Address | undefined): void {
  if (
    !address ||
    typeof address.host !== 'string' ||
    !address.host ||
    !Number.isInteger(address.port) ||
    address.port < 0 ||
    address.port > 65535
  ) {
    throw new HuntError(
      ErrorCodes.USAGE,
      `A proxy needs a ${what} address as host:port (port 0..65535${what === 'listen' ? ', 0 for any free port' : ''}); got ${JSON.stringify(address)}.`,
    );
  }
}

/** "127.0.0.1:8080" / "[::1]:8080" / "localhost:8080" -> Address. */
export function parseAddress(what: string, value: unknown): Address {
  const match = typeof value === 'string' ? /^\[?([^\]]+?)\]?:(\d+)$/.exec(value) : null;
  if (!match?.[1] || !match[2]) {
    throw new HuntError(
      ErrorCodes.USAGE,
      `The ${what} address must be host:port, got ${JSON.stringify(value)}.`,
    );
  }
  return { host: match[1], port: Number(match[2]) };
}
