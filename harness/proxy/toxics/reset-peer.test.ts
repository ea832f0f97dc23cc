import t from 'tap';
import { collect, dial, echoServer, proxyTo } from '../../test-kits/proxy.ts';

t.test('reset_peer resets the connection: the client sees ECONNRESET', async (t) => {
  const { address } = await echoServer(t);
  const proxy = await proxyTo(t, address, [
    { type: 'reset_peer', stream: 'upstream', attributes: { timeout: 100 } },
  ]);
  const socket = await dial(proxy.listen);
  const closed = collect(socket);
  const started = performance.now();
  socket.write('hello');
  const { error, endedAt, data } = await closed;
  t.equal(error, 'ECONNRESET');
  t.equal(
    data.length,
    0,
    'none of the data went through, as with Toxiproxy (it is swallowed until the reset)',
  );
  t.ok(endedAt - started >= 90, `reset after ${Math.round(endedAt - started)} ms`);
});
