import { once } from 'node:events';
import type { Server, Socket } from 'node:net';

/** For tests: anything that runs code when the test ends (a tap Test). */
export type Teardown = { teardown(fn: () => unknown): void };

/** Tracks the connections a test's server accepts; at teardown destroys them and closes the server. */
function ownConnections(t: Teardown, server: Server) {
  const connections = new Set<Socket>();
  let accepted = 0;
  server.on('connection', (socket: Socket) => {
    accepted++;
    connections.add(socket);
    socket.on('close', () => connections.delete(socket));
  });
  const dropConnections = () => {
    for (const socket of connections) socket.destroy();
  };
  t.teardown(() => {
    dropConnections();
    server.close();
  });
  return { dropConnections, accepted: () => accepted };
}

/**
 * Starts a test's server on an ephemeral loopback port. At teardown the server is closed and
 * every connection it accepted is destroyed, so no test leaves a socket behind;
 * `dropConnections()` does the latter earlier (a master "reloading").
 */
export async function listenOnLoopback(
  t: Teardown,
  server: Server,
): Promise<{ port: number; dropConnections(): void }> {
  const { dropConnections } = ownConnections(t, server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as { port: number }).port, dropConnections };
}

/** A loopback address other than 127.0.0.1 (all of 127/8 is the host's own). */
export function randomLoopbackHost(): string {
  const byte = (from: number) => from + Math.floor(Math.random() * 250);
  return `127.${byte(1)}.${byte(0)}.${byte(2)}`;
}

/**
 * Starts a test's server on a system's own fixed port (Icinga's API port, stunnel's 443), which
 * the code under test dials at a node's address: at `host`, or at a free loopback address of its
 * own so that tests running beside each other do not collide. Closed as listenOnLoopback's.
 */
export async function listenOnFixedPort(
  t: Teardown,
  server: Server,
  port: number,
  host?: string,
): Promise<{ host: string; accepted(): number; dropConnections(): void }> {
  const owned = ownConnections(t, server);
  for (let attempt = 0; attempt < (host === undefined ? 20 : 1); attempt++) {
    const address = host ?? randomLoopbackHost();
    server.listen(port, address);
    const [event] = await Promise.race([
      once(server, 'listening').then(() => ['up']),
      once(server, 'error').then(([error]) => [error]),
    ]);
    if (event === 'up') return { host: address, ...owned };
    if (host !== undefined) throw event;
  }
  throw new Error(`no free loopback address for port ${port}`);
}
