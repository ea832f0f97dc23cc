import { once } from 'node:events';
import { type AddressInfo, connect, createServer } from 'node:net';
import t from 'tap';
import { processSnapshot } from './process-snapshot.ts';

t.test(
  'a live process: status, threads, open files, its sockets on the port by state, libraries',
  async (t) => {
    const server = createServer((socket) => socket.pause()).listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const client = connect(port, '127.0.0.1');
    await once(client, 'connect');
    t.teardown(() => {
      client.destroy();
      server.close();
    });
    const text = await processSnapshot([{ label: 'this test', pid: process.pid }], { port });
    t.match(text, new RegExp(`^== this test: pid ${process.pid} \\(`), 'names the process');
    t.match(text, /\n {2}VmRSS: +\d+ kB\n/, 'its memory');
    const threads = Number(/\n {2}threads \((\d+)\): /.exec(text)?.[1]);
    t.ok(threads >= 2, `its threads counted (${threads}), by name and state`);
    // The listener, the client's end and the server's end of one connection: all three are ours.
    t.match(text, new RegExp(`TCP sockets on port ${port}: [^;]*listen 1`), 'the listener on the port');
    t.match(
      text,
      new RegExp(`TCP sockets on port ${port}: [^;]*established 1`),
      'the accepted end on the port',
    );
    t.match(text, /elsewhere: [^\n]*established 1/, "the client's end, on its own port");
    t.match(text, /open files \(\d+\): [^\n]*socket \d+/, 'open files by kind');
    t.match(
      text,
      /memory: \d+ mappings, \d+ libraries:\n {4}\/\S+\.so/,
      'the libraries it has mapped, by path',
    );
  },
);

t.test('a process that is gone says so; the others are still read', async (t) => {
  const text = await processSnapshot([
    { label: 'worker', pid: 2 ** 22 + 1 },
    { label: 'this test', pid: process.pid },
  ]);
  t.match(text, `== worker: pid ${2 ** 22 + 1} is gone\n`);
  t.match(text, `== this test: pid ${process.pid}`);
  t.match(text, /TCP sockets: /, 'without a port, every socket is "elsewhere"');
});
