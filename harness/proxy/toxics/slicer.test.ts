import t from 'tap';
import { dial, echoServer, proxyTo } from '../../test-kits/proxy.ts';

t.test('slicer delivers data in small separate segments', async (t) => {
  const server = await echoServer(t, { echo: false });
  const proxy = await proxyTo(t, server.address, [
    // 20 ms apart (delay is in microseconds, as Toxiproxy's): a receiver slowed by a busy machine
    // still reads each slice on its own (at 2 ms, two slices once arrived in one read under load).
    { type: 'slicer', stream: 'upstream', attributes: { average_size: 4, size_variation: 2, delay: 20_000 } },
  ]);
  const socket = await dial(proxy.listen);
  socket.end('0123456789abcdefghijklmnopqrstuvwxyz');
  // The FIN travels behind the last slice: once the server has it, every slice is in.
  await server.ended();
  socket.destroy();
  t.equal(
    Buffer.concat(server.segments).toString(),
    '0123456789abcdefghijklmnopqrstuvwxyz',
    'all bytes, in order',
  );
  t.ok(server.segments.length >= 6, `${server.segments.length} segments arrived`);
  t.ok(
    server.segments.every((s) => s.length <= 6),
    'none larger than average + variation',
  );
});

t.test('bad slicer attributes are refused', async (t) => {
  const { address } = await echoServer(t);
  const proxy = await proxyTo(t, address);
  await t.rejects(proxy.addToxic({ type: 'slicer', attributes: { average_size: 0 } }), {
    code: 'HH_USAGE',
    message: /average_size/,
  });
});
