import type { Socket } from 'node:net';
import { connect } from 'node:net';
import { drainedOrClosed } from '../drained.ts';
import { derivedRandom } from '../random.ts';
import { adoptWithLargeReads, largeReads } from './large-reads.ts';
import { serverNameOf, TlsRecordReader } from './tls-records.ts';
import type { ActiveToxic, Chunk, LinkOutput, Stream, ToxicLink } from './toxic.ts';

/** Bytes queued in one direction before its sender is paused (backpressure towards the peer). */
const HIGH_WATER = 1024 * 1024;

const END = Symbol('end');

/** What a connection asks of the proxy that accepted it (the ChaosProxy; a small interface, so neither file imports the other). */
export interface ConnectionHost {
  readonly seed: number;
  readonly upstream: { host: string; port: number };
  toxicsFor(stream: Stream): ActiveToxic[];
  selects(toxic: ActiveToxic, connection: ProxyConnection): boolean;
  upstreamFailed(connection: ProxyConnection, error: Error & { code?: string }): void;
  connectionClosed(connection: ProxyConnection, reason: string): void;
  recordEvent(type: string, fields: Record<string, unknown>): void;
}

/** One proxied TCP connection: a client socket, an upstream socket, and a pump each way. */
export class ProxyConnection {
  readonly id: number;
  readonly client: Socket;
  readonly server: Socket;
  readonly connectedAt = performance.now();
  readonly peer: string;
  /** The server name the client asked for in its ClientHello, where it sent one. */
  sni: string | undefined;
  bytes = { upstream: 0, downstream: 0 };
  private closed = false;
  private readonly proxy: ConnectionHost;
  private readonly pumps: Record<Stream, DirectionPump>;

  /** `accepted` comes from a server with pauseOnConnect: it has not read anything yet. */
  constructor(proxy: ConnectionHost, id: number, accepted: Socket) {
    this.proxy = proxy;
    this.id = id;
    // Reads are delivered on later ticks, when the pumps exist.
    const { socket: client, adopted } = adoptWithLargeReads(accepted, (data, release) =>
      this.pumps.upstream.receive(data, release),
    );
    this.client = client;
    this.peer = (client.remoteAddress ?? '').replace(/^::ffff:/, '');
    this.server = connect({
      host: proxy.upstream.host,
      port: proxy.upstream.port,
      allowHalfOpen: true,
      onread: largeReads((data, release) => this.pumps.downstream.receive(data, release)),
    });
    for (const socket of [client, this.server]) socket.setNoDelay(true);
    this.pumps = {
      upstream: new DirectionPump(this, 'upstream', client, this.server),
      downstream: new DirectionPump(this, 'downstream', this.server, client),
    };
    if (!adopted) client.on('data', (data: Buffer) => this.pumps.upstream.receive(data));
    client.resume();
    this.server.on('error', (error: Error & { code?: string }) => {
      if (!this.server.remoteAddress && !this.closed) proxy.upstreamFailed(this, error);
      this.finish(`upstream: ${error.code ?? error.message}`);
    });
    client.on('error', (error: Error & { code?: string }) =>
      this.finish(`client: ${error.code ?? error.message}`),
    );
    // A socket that closes cleanly may still have data queued for the other side (a latency
    // toxic holding it): the connection ends when both directions have delivered their FIN.
    for (const socket of [client, this.server])
      socket.on('close', (hadError) => (hadError ? this.finish('error') : this.maybeFinish()));
  }

  /** FIN both ways, then let go. */
  close(reason: string): void {
    if (this.closed) return;
    this.client.end();
    this.server.end();
    setTimeout(() => this.finish(reason), 1000).unref();
  }

  /** RST both ways. */
  reset(reason: string): void {
    if (this.closed) return;
    this.client.resetAndDestroy();
    this.server.resetAndDestroy();
    this.finish(reason);
  }

  /** Called when a direction has delivered its FIN, or a socket closed. */
  maybeFinish(): void {
    if (this.pumps.upstream.ended && this.pumps.downstream.ended) this.finish('closed');
    else if (this.client.destroyed && this.server.destroyed) this.finish('closed');
  }

  /** The proxy's toxics for one direction, in order. */
  proxyToxics(stream: Stream): ActiveToxic[] {
    return this.proxy.toxicsFor(stream);
  }

  /** Creates a toxic's link for this connection, or null where its selector or toxicity leave it out. */
  chooseLink(toxic: ActiveToxic, stream: Stream): ToxicLink | null {
    const random = linkRandom(this.proxy.seed, this.id, toxic.name, stream);
    if (!this.proxy.selects(toxic, this) || random() >= toxic.toxicity) return null;
    this.proxy.recordEvent('toxic-applied', {
      connection: this.id,
      toxic: toxic.name,
      toxicType: toxic.type,
      stream,
      peer: this.peer,
      sni: this.sni,
    });
    return toxic.impl.create(toxic.parsed, {
      connectionId: this.id,
      stream,
      random,
      connectedAt: this.connectedAt,
    });
  }

  fired(
    toxic: ActiveToxic | undefined,
    stream: Stream,
    action: string,
    fields: Record<string, unknown> = {},
  ): void {
    this.proxy.recordEvent('toxic-fired', {
      connection: this.id,
      toxic: toxic?.name,
      toxicType: toxic?.type,
      stream,
      action,
      peer: this.peer,
      ...fields,
    });
  }

  /** The toxic was removed: drop its links. */
  forget(toxicName: string): void {
    this.pumps.upstream.forget(toxicName);
    this.pumps.downstream.forget(toxicName);
  }

  private finish(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.pumps.upstream.dispose();
    this.pumps.downstream.dispose();
    this.client.destroy();
    this.server.destroy();
    this.proxy.connectionClosed(this, reason);
  }
}

/**
 * One direction of a connection; its source socket's reads arrive at receive(). With no toxic
 * for this direction, bytes go straight from one socket to the other (pausing on backpressure).
 * Otherwise each chunk goes through the active toxics in order, one chunk at a time, so every
 * toxic sees the stream in sequence.
 */
class DirectionPump {
  private readonly connection: ProxyConnection;
  private readonly stream: Stream;
  private readonly source: Socket;
  private readonly sink: Socket;
  private readonly queue: Array<Chunk | typeof END> = [];
  private queuedBytes = 0;
  private running = false;
  /** Its FIN was delivered to the sink. */
  ended = false;
  /** Toxic name -> its link on this connection, or null where toxicity/selector left it out. */
  private readonly links = new Map<string, ToxicLink | null>();
  private readonly sniReader: TlsRecordReader | undefined;

  constructor(connection: ProxyConnection, stream: Stream, source: Socket, sink: Socket) {
    this.connection = connection;
    this.stream = stream;
    this.source = source;
    this.sink = sink;
    this.sniReader = stream === 'upstream' ? new TlsRecordReader() : undefined;
    source.on('end', () => {
      if (this.queue.length === 0 && !this.running && this.links.size === 0) this.end();
      else this.enqueue(END);
    });
  }

  forget(toxicName: string): void {
    const link = this.links.get(toxicName);
    this.links.delete(toxicName);
    if (!link) return;
    // What the link holds goes on at once (a removed latency's buffer), then it stops.
    void Promise.resolve(link.release?.())
      .catch(() => undefined)
      .finally(() => link.dispose?.());
  }

  dispose(): void {
    for (const link of this.links.values()) link?.dispose?.();
    this.links.clear();
    this.queue.length = 0;
  }

  /** One read from the source socket. */
  receive(data: Buffer, release?: () => void): void {
    this.connection.bytes[this.stream] += data.length;
    if (this.sniReader && this.connection.sni === undefined) this.readServerName(data);
    const toxics = this.connection.proxyToxics(this.stream);
    if (toxics.length === 0 && this.links.size === 0 && !this.running) {
      if (!this.sink.write(data, release)) {
        this.source.pause();
        this.sink.once('drain', () => this.source.resume());
      }
      return;
    }
    this.enqueue({ data, arrivedAt: performance.now() });
  }

  private readServerName(data: Buffer): void {
    const reader = this.sniReader as TlsRecordReader;
    const { records } = reader.push(data);
    const first = records[0];
    if (first) this.connection.sni = serverNameOf(first) ?? '';
    else if (reader.opaque || reader.pendingBytes > 32 * 1024) this.connection.sni = '';
  }

  private enqueue(item: Chunk | typeof END): void {
    this.queue.push(item);
    if (item !== END) {
      this.queuedBytes += item.data.length;
      if (this.queuedBytes > HIGH_WATER) this.source.pause();
    }
    if (!this.running) void this.run();
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0) {
        const item = this.queue.shift() as Chunk | typeof END;
        const stages = this.activeLinks();
        if (item === END) {
          for (const [index, [, link]] of stages.entries())
            await link.flush?.(this.output(stages, index + 1));
          this.end();
          continue;
        }
        this.queuedBytes -= item.data.length;
        await this.through(stages, 0, item);
        if (this.queuedBytes <= HIGH_WATER / 2 && this.source.isPaused()) this.source.resume();
      }
    } catch {
      // A socket went away under a toxic: the connection is finishing anyway.
    } finally {
      this.running = false;
    }
  }

  private end(): void {
    this.ended = true;
    if (!this.sink.destroyed) this.sink.end();
    this.connection.maybeFinish();
  }

  private activeLinks(): Array<[ActiveToxic, ToxicLink]> {
    const stages: Array<[ActiveToxic, ToxicLink]> = [];
    for (const toxic of this.connection.proxyToxics(this.stream)) {
      let link = this.links.get(toxic.name);
      if (link === undefined) {
        link = this.connection.chooseLink(toxic, this.stream);
        this.links.set(toxic.name, link);
      }
      if (link) stages.push([toxic, link]);
    }
    return stages;
  }

  private through(stages: Array<[ActiveToxic, ToxicLink]>, index: number, chunk: Chunk): Promise<void> {
    const stage = stages[index];
    if (!stage) return this.write(chunk.data);
    return Promise.resolve(stage[1].transform(chunk, this.output(stages, index + 1)));
  }

  private output(stages: Array<[ActiveToxic, ToxicLink]>, next: number): LinkOutput {
    const toxic = stages[next - 1]?.[0];
    return {
      push: (chunk) => this.through(stages, next, chunk),
      close: (reason) => this.connection.close(reason),
      reset: (reason) => this.connection.reset(reason),
      fired: (action, fields) => this.connection.fired(toxic, this.stream, action, fields),
    };
  }

  private write(data: Buffer): Promise<void> {
    if (this.sink.destroyed || this.sink.writableEnded) return Promise.resolve();
    return this.sink.write(data) ? Promise.resolve() : drainedOrClosed(this.sink);
  }
}

export function linkRandom(seed: number, connectionId: number, toxic: string, stream: Stream) {
  return derivedRandom(seed, `${connectionId}:${toxic}:${stream}`);
}
