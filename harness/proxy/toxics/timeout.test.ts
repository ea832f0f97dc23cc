import t from 'tap';
import { collect, dial, echoServer, proxyTo } from '../../test-kits/proxy.ts';

t.test('timeout swallows data and closes after the timeout', async (t) => {
  const server = await echoServer(t);
  const proxy = await proxyTo(t, server.address, [
    { type: 'timeout', stream: 'upstream', attributes: { timeout: 200 } },
  ]);
  const socket = await dial(proxy.listen);
  const closed = collect(socket);
  const started = performance.now();
  socket.write('lost');
  const { data, endedAt } = await closed;
  t.equal(data.length, 0, 'nothing came back');
  t.equal(server.segments.length, 0, 'nothing reached the server');
  t.ok(endedAt - started >= 190, `closed after ${Math.round(endedAt - started)} ms`);
});
