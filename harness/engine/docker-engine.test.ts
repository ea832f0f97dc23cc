import { createServer } from 'node:net';
import t from 'tap';
import { ErrorCodes } from '../errors.ts';
import { silentProgress } from '../progress.ts';
import { DEFAULT_SOCKET, engineAddress, ensureEngine } from './docker-engine.ts';

t.test('DOCKER_HOST is read like the docker client reads it', async (t) => {
  t.same(engineAddress({}), { kind: 'socket', socketPath: DEFAULT_SOCKET, explicit: false });
  t.same(engineAddress({ DOCKER_HOST: 'unix:///tmp/d.sock' }), {
    kind: 'socket',
    socketPath: '/tmp/d.sock',
    explicit: true,
  });
  t.same(engineAddress({ DOCKER_HOST: 'tcp://127.0.0.1:2375' }), {
    kind: 'tcp',
    host: '127.0.0.1',
    port: 2375,
    explicit: true,
  });
  t.same(engineAddress({ DOCKER_HOST: 'tcp://[::1]:2375/' }), {
    kind: 'tcp',
    host: '::1',
    port: 2375,
    explicit: true,
  });
  t.throws(() => engineAddress({ DOCKER_HOST: 'ssh://user@host' }), { code: ErrorCodes.USAGE });
});

t.test(
  'an explicit DOCKER_HOST that does not answer is an error, never a reason to start an engine',
  async (t) => {
    // A loopback port that accepts and then says nothing: the ping must time out, not hang.
    const sockets = new Set<import('node:net').Socket>();
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.teardown(() => {
      for (const socket of sockets) socket.destroy();
      server.close();
    });
    const { port } = server.address() as { port: number };
    await t.rejects(ensureEngine(silentProgress, { DOCKER_HOST: `tcp://127.0.0.1:${port}` }), {
      code: ErrorCodes.ENGINE_UNAVAILABLE,
      message: new RegExp(`tcp://127\\.0\\.0\\.1:${port}.*unset DOCKER_HOST`),
    });
    await t.rejects(ensureEngine(silentProgress, { DOCKER_HOST: 'unix:///nonexistent/docker.sock' }), {
      code: ErrorCodes.ENGINE_UNAVAILABLE,
    });
  },
);
