import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { type AddressInfo, connect, createServer } from 'node:net';
import t from 'tap';
import { fakeProcess } from '../test-kits/fake-proc.ts';
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

t.test('the TLS libraries are listed first, whatever else the daemon maps', async (t) => {
  const proc = t.testdir();
  const dir = `${proc}/4242`;
  await fakeProcess(proc, { pid: 4242, ppid: 1, comm: 'icinga2', argv: ['icinga2', 'daemon'] });
  // Fifty libraries that sort before libssl by path, then the two TLS ones.
  const maps = [
    ...Array.from({ length: 50 }, (_, i) => `/lib/x86_64-linux-gnu/libaa${String(i).padStart(2, '0')}.so.1`),
    '/usr/lib/x86_64-linux-gnu/libssl.so.1.0.2k',
    '/usr/lib/x86_64-linux-gnu/libcrypto.so.1.0.2k',
  ].map((path, i) => `7f00${String(i).padStart(8, '0')}-7f01 r-xp 00000000 08:01 ${i} ${path}`);
  await writeFile(`${dir}/maps`, `${maps.join('\n')}\n`);
  const text = await processSnapshot([{ label: 'umbrella', pid: 4242 }], { proc });
  const listed = text.split('\n').filter((line) => line.startsWith('    /'));
  t.same(
    listed.slice(0, 2).map((line) => line.trim()),
    ['/usr/lib/x86_64-linux-gnu/libcrypto.so.1.0.2k', '/usr/lib/x86_64-linux-gnu/libssl.so.1.0.2k'],
  );
  t.equal(listed.length, 40, 'the list stays bounded');
  t.match(text, /memory: 52 mappings, 52 libraries:/);
  t.match(text, /and 12 more\n/);
});
