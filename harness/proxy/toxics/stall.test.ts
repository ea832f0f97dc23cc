import t from 'tap';
import { collect, dial, echoServer, proxyTo } from '../../test-kits/proxy.ts';

t.test('stall freezes both directions for its duration, then everything arrives in order', async (t) => {
  const { address } = await echoServer(t);
  const proxy = await proxyTo(t, address, [
    { type: 'stall', stream: 'both', attributes: { after: 100, duration: 400 } },
  ]);
  const socket = await dial(proxy.listen);
  const result = collect(socket);
  const started = performance.now();
  socket.write('before|');
  await new Promise((resolve) => setTimeout(resolve, 150));
  socket.write('during|');
  await new Promise((resolve) => setTimeout(resolve, 100));
  socket.end('end');
  const { data, endedAt } = await result;
  t.equal(data.toString(), 'before|during|end', 'nothing lost, order kept');
  t.ok(endedAt - started >= 480, `the stall held the stream until ${Math.round(endedAt - started)} ms`);
});
