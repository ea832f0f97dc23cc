import t from 'tap';
import { tlsClient, tlsPeers, tlsServer } from '../../test-kits/tls.ts';
import { ChaosProxy } from '../chaos-proxy.ts';

t.test(
  'a ClientHello sent one byte per segment still completes: reassembly works on the server',
  async (t) => {
    const peers = await tlsPeers();
    const server = await tlsServer(t, peers);
    const fired: Array<Record<string, unknown>> = [];
    const proxy = await ChaosProxy.start({
      seed: 1,
      name: 'split',
      listen: { host: '127.0.0.1', port: 0 },
      upstream: server.address,
      events: { record: (_source, type, fields) => type === 'toxic-fired' && fired.push(fields ?? {}) },
    });
    t.teardown(() => proxy.close());
    await proxy.addToxic({
      type: 'tls_split',
      stream: 'upstream',
      attributes: { message: 'ClientHello', delay: 0 },
    });
    const client = await tlsClient(proxy.listen, peers);
    t.ok(client.ok, client.error ?? 'handshake completed');
    const split = fired.find((f) => f.action === 'split');
    t.ok((split?.segments as number) > 100, `sent as ${split?.segments} segments`);
  },
);
