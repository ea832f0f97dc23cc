import t from 'tap';
import { proxyTo } from '../../test-kits/proxy.ts';
import { tlsClient, tlsPeers, tlsServer } from '../../test-kits/tls.ts';

t.test('a delayed ServerHello slows the handshake by that much', async (t) => {
  const peers = await tlsPeers();
  const server = await tlsServer(t, peers);
  const proxy = await proxyTo(t, server.address, [
    { type: 'tls_delay', stream: 'downstream', attributes: { message: 'ServerHello', delay: 400 } },
  ]);
  const client = await tlsClient(proxy.listen, peers);
  t.ok(client.ok, client.error ?? 'completed');
  t.ok(client.ms >= 390, `handshake took ${Math.round(client.ms)} ms`);
});
