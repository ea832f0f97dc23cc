import { connect, type Socket } from 'node:net';
import { ErrorCodes, HuntError } from '../../errors.ts';
import { numberAttribute } from '../../proxy/toxic.ts';
import { defineNemesis } from '../nemesis.ts';

/** Most connections one flood holds: bounded like everything else. */
const MAX_CONNECTIONS = 20_000;
/** How long the flood waits for its connections to open, at most. */
const OPEN_WAIT_MS = 10_000;

/**
 * Opens `connections` TCP connections to the node's `port` from the harness and holds them, silent
 * (no TLS hello), for the fault's length: a server with a thread per connection (stunnel) spends
 * one on each until its limit (max_clients), and refuses the rest. Closed when the fault ends.
 */
export default defineNemesis<{ port: number; connections: number }>({
  name: 'connection-flood',
  summary: "hold `connections` silent TCP connections to the node's `port` (a server past its client limit)",
  parse(a) {
    if (a.port === undefined)
      throw new HuntError(
        ErrorCodes.USAGE,
        'Nemesis connection-flood: attribute "port" (the node\'s listening port) is required.',
      );
    return {
      port: numberAttribute('connection-flood', a, 'port', {
        default: 0,
        min: 1,
        max: 65_535,
        integer: true,
      }),
      connections: numberAttribute('connection-flood', a, 'connections', {
        default: 600,
        min: 1,
        max: MAX_CONNECTIONS,
        integer: true,
      }),
    };
  },
  async start({ node }, { port, connections }) {
    const sockets: Socket[] = [];
    const opened = await new Promise<number>((resolve) => {
      let settled = 0;
      let ok = 0;
      const timer = setTimeout(() => resolve(ok), OPEN_WAIT_MS);
      for (let i = 0; i < connections; i++) {
        const socket = connect({ host: node.address, port });
        sockets.push(socket);
        const done = (success: boolean) => {
          if (success) ok++;
          if (++settled === connections) {
            clearTimeout(timer);
            resolve(ok);
          }
        };
        socket.once('connect', () => done(true));
        socket.once('error', () => done(false));
      }
    });
    if (opened === 0) {
      for (const socket of sockets) socket.destroy();
      throw new HuntError(
        ErrorCodes.USAGE,
        `Nemesis connection-flood: not one connection to ${node.name}:${port} opened.`,
      );
    }
    return async () => {
      for (const socket of sockets) socket.destroy();
    };
  },
});
