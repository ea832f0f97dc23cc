import { EventEmitter, once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { type Address, ChaosProxy, type ToxicSpec } from '../proxy/chaos-proxy.ts';
import type { EventSink } from '../run/history.ts';
import { listenOnLoopback, type Teardown } from './loopback.ts';

/** Helpers for proxy tests with real loopback sockets. */

/**
 * `promise`, or a rejection naming `what` after `ms`: a wait for an event fails in seconds when
 * the event never comes, instead of hanging the test until tap's timeout.
 */
export function within<T>(what: string, promise: Promise<T>, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

/**
 * A loopback server that echoes what it gets; `segments` keeps what it read, as it arrived
 * (`arrivals`: performance.now() of each). `ended(n)` resolves once n connections have sent their
 * FIN, so everything they sent is in `segments` by then.
 */
export async function echoServer(t: Teardown, options: { echo?: boolean } = {}) {
  const segments: Buffer[] = [];
  const arrivals: number[] = [];
  const ends = new EventEmitter();
  let endCount = 0;
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    socket.on('error', () => undefined);
    socket.on('data', (data: Buffer) => {
      segments.push(data);
      arrivals.push(performance.now());
      if (options.echo !== false) socket.write(data);
    });
    socket.on('end', () => {
      socket.end();
      endCount++;
      ends.emit('end');
    });
  });
  const { port } = await listenOnLoopback(t, server);
  const ended = (count = 1): Promise<void> =>
    within(
      `${count} FIN(s) at the server`,
      new Promise<void>((resolve) => {
        const check = () => {
          if (endCount < count) return;
          ends.off('end', check);
          resolve();
        };
        ends.on('end', check);
        check();
      }),
    );
  return { address: { host: '127.0.0.1', port } as Address, segments, arrivals, ended };
}

export async function proxyTo(
  t: Teardown,
  upstream: Address,
  toxics: ToxicSpec[] = [],
  seed = 1,
  events?: EventSink,
): Promise<ChaosProxy> {
  const proxy = await ChaosProxy.start({
    name: 'test',
    listen: { host: '127.0.0.1', port: 0 },
    upstream,
    seed,
    events,
  });
  t.teardown(() => proxy.close());
  for (const toxic of toxics) await proxy.addToxic(toxic);
  return proxy;
}

export async function dial(address: Address): Promise<Socket> {
  const socket = connect({ host: address.host, port: address.port, allowHalfOpen: true });
  await once(socket, 'connect');
  return socket;
}

/** Everything the socket receives until it closes, when its first byte came, and how it closed. */
export function collect(
  socket: Socket,
): Promise<{ data: Buffer; error?: string; endedAt: number; firstDataAt?: number }> {
  const chunks: Buffer[] = [];
  let firstDataAt: number | undefined;
  socket.on('data', (chunk: Buffer) => {
    firstDataAt ??= performance.now();
    chunks.push(chunk);
  });
  // Like most clients: when the other side is done, finish too.
  socket.on('end', () => socket.end());
  return new Promise((resolve) => {
    let error: string | undefined;
    socket.on('error', (e: Error & { code?: string }) => {
      error = e.code ?? e.message;
    });
    socket.on('close', () =>
      resolve({ data: Buffer.concat(chunks), error, endedAt: performance.now(), firstDataAt }),
    );
  });
}

/** Sends `payload`, half-closes, and returns what came back (`firstByteMs`: until its first byte). */
export async function roundTrip(address: Address, payload: Buffer | string) {
  const socket = await dial(address);
  const result = collect(socket);
  const started = performance.now();
  socket.end(payload);
  const { data, error, endedAt, firstDataAt } = await result;
  return {
    data,
    error,
    ms: endedAt - started,
    firstByteMs: firstDataAt === undefined ? undefined : firstDataAt - started,
  };
}
