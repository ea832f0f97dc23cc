import t from 'tap';
import { proxyTo } from '../../test-kits/proxy.ts';
import { tlsClient, tlsPeers, tlsServer } from '../../test-kits/tls.ts';

t.test(
  'a ClientHello cut in the middle: the server sees a broken handshake, the client a closed socket',
  async (t) => {
    const peers = await tlsPeers();
    const server = await tlsServer(t, peers);
    const proxy = await proxyTo(t, server.address, [
      { type: 'tls_truncate', stream: 'upstream', attributes: { message: 'ClientHello', keep_bytes: 20 } },
    ]);
    const client = await tlsClient(proxy.listen, peers);
    t.notOk(client.ok);
    t.match(
      client.error,
      /closed before the handshake finished|socket disconnected before secure TLS connection|ECONNRESET/,
    );
  },
);
