import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { type Address, ChaosProxy, type ToxicSpec } from '../proxy/chaos-proxy.ts';
import { listenOnLoopback, type Teardown } from './loopback.ts';

/** Helpers for proxy tests with real loopback sockets. */

/** A loopback server that echoes what it gets; `received` keeps the segments as they arrived. */
export async function echoServer(t: Teardown, options: { echo?: boolean } = {}) {
  const segments: Buffer[] = [];
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    socket.on('error', () => undefined);
    socket.on('data', (data: Buffer) => {
      segments.push(data);
      if (options.echo !== false) socket.write(data);
    });
    socket.on('end', () => socket.end());
  });
  const { port } = await listenOnLoopback(t, server);
  return { address: { host: '127.0.0.1', port } as Address, segments };
}

export async function proxyTo(
  t: Teardown,
  upstream: Address,
  toxics: ToxicSpec[] = [],
  seed = 1,
): Promise<ChaosProxy> {
  const proxy = await ChaosProxy.start({
    name: 'test',
    listen: { host: '127.0.0.1', port: 0 },
    upstream,
    seed,
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

/** Everything the socket receives until it closes, and how it closed. */
export function collect(socket: Socket): Promise<{ data: Buffer; error?: string; endedAt: number }> {
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  // Like most clients: when the other side is done, finish too.
  socket.on('end', () => socket.end());
  return new Promise((resolve) => {
    let error: string | undefined;
    socket.on('error', (e: Error & { code?: string }) => {
      error = e.code ?? e.message;
    });
    socket.on('close', () => resolve({ data: Buffer.concat(chunks), error, endedAt: performance.now() }));
  });
}

/** Sends `payload`, half-closes, and returns what came back. */
export async function roundTrip(address: Address, payload: Buffer | string) {
  const socket = await dial(address);
  const result = collect(socket);
  const started = performance.now();
  socket.end(payload);
  const { data, error, endedAt } = await result;
  return { data, error, ms: endedAt - started };
}
