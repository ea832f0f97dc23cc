import { once } from 'node:events';
import type { Server, Socket } from 'node:net';

/** For tests: anything that runs code when the test ends (a tap Test). */
export type Teardown = { teardown(fn: () => unknown): void };

/**
 * Starts a test's server on an ephemeral loopback port. At teardown the server is closed and
 * every connection it accepted is destroyed, so no test leaves a socket behind;
 * `dropConnections()` does the latter earlier (a master "reloading").
 */
export async function listenOnLoopback(
  t: Teardown,
  server: Server,
): Promise<{ port: number; dropConnections(): void }> {
  const connections = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    connections.add(socket);
    socket.on('close', () => connections.delete(socket));
  });
  const dropConnections = () => {
    for (const socket of connections) socket.destroy();
  };
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => {
    dropConnections();
    server.close();
  });
  return { port: (server.address() as { port: number }).port, dropConnections };
}
