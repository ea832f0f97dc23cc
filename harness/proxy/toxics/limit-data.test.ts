import t from 'tap';
import { collect, dial, echoServer, proxyTo } from '../../test-kits/proxy.ts';

t.test('limit_data lets N bytes through, then closes the connection', async (t) => {
  const server = await echoServer(t, { echo: false });
  const proxy = await proxyTo(t, server.address, [
    { type: 'limit_data', stream: 'upstream', attributes: { bytes: 5 } },
  ]);
  const socket = await dial(proxy.listen);
  const closed = collect(socket);
  socket.write('0123456789');
  const { error } = await closed;
  t.equal(error, undefined, 'a clean close (FIN), not a reset');
  // The client's close can come before the server has read: its FIN says it has everything.
  await server.ended();
  t.equal(Buffer.concat(server.segments).toString(), '01234');
});
