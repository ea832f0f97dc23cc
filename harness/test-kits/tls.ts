import { once } from 'node:events';
import { createServer as createTcpServer } from 'node:net';
import { connect, createServer, type TLSSocket } from 'node:tls';
import { CertificateAuthority, type IssuedCertificate } from '../pki/certificate-authority.ts';
import { EC_P256, RSA_2048 } from '../pki/key-spec.ts';
import type { Address } from '../proxy/chaos-proxy.ts';
import { listenOnLoopback, type Teardown } from './loopback.ts';

export interface TlsPeers {
  ca: CertificateAuthority;
  server: IssuedCertificate;
  client: IssuedCertificate;
}

export async function tlsPeers(): Promise<TlsPeers> {
  const ca = await CertificateAuthority.create({ keySpec: EC_P256 });
  return { ca, server: await ca.issue('master1', RSA_2048), client: await ca.issue('agent-1', EC_P256) };
}

/** A Node TLS server asking for client certificates; `errors` collects its handshake failures. */
export async function tlsServer(
  t: Teardown,
  peers: TlsPeers,
  options: { maxVersion?: 'TLSv1.2' | 'TLSv1.3' } = {},
) {
  const errors: string[] = [];
  const server = createServer({
    key: peers.server.privateKeyPem,
    cert: peers.server.certificatePem,
    ca: peers.ca.certificatePem,
    requestCert: true,
    rejectUnauthorized: true,
    maxVersion: options.maxVersion,
  });
  server.on('secureConnection', (socket: TLSSocket) => socket.end('welcome'));
  server.on('tlsClientError', (error) => errors.push(error.message));
  const { port } = await listenOnLoopback(t, server);
  return { address: { host: '127.0.0.1', port } as Address, errors };
}

/** Connects a Node TLS client; resolves with what happened (no throw). */
export function tlsClient(
  address: Address,
  peers: TlsPeers,
): Promise<{ ok: boolean; error?: string; ms: number; data: string }> {
  const started = performance.now();
  return new Promise((resolve) => {
    let data = '';
    const socket = connect({
      host: address.host,
      port: address.port,
      servername: 'master1',
      key: peers.client.privateKeyPem,
      cert: peers.client.certificatePem,
      ca: peers.ca.certificatePem,
    });
    socket.on('data', (chunk: Buffer) => {
      data += chunk.toString();
    });
    socket.on('error', (error) =>
      resolve({ ok: false, error: error.message, ms: performance.now() - started, data }),
    );
    let secure = false;
    socket.once('secureConnect', () => {
      secure = true;
    });
    socket.on('end', () =>
      resolve(
        secure
          ? { ok: data === 'welcome', ms: performance.now() - started, data }
          : {
              ok: false,
              error: 'closed before the handshake finished',
              ms: performance.now() - started,
              data,
            },
      ),
    );
    socket.setTimeout(5000, () => {
      socket.destroy();
      resolve({ ok: false, error: 'timed out', ms: performance.now() - started, data });
    });
  });
}

/** The bytes a real Node TLS client sends first (its ClientHello record), for parser tests. */
export async function capturedClientHello(peers: TlsPeers): Promise<Buffer> {
  const server = createTcpServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const first = once(server, 'connection').then(async ([socket]) => {
    const [chunk] = (await once(socket, 'data')) as [Buffer];
    socket.destroy();
    return chunk;
  });
  const { port } = server.address() as { port: number };
  const client = connect({ host: '127.0.0.1', port, servername: 'master1', ca: peers.ca.certificatePem });
  client.on('error', () => undefined);
  const hello = await first;
  client.destroy();
  server.close();
  return hello;
}
