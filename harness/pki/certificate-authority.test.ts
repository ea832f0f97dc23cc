import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { readdir } from 'node:fs/promises';
import { connect, createServer, type TLSSocket } from 'node:tls';
import t from 'tap';
import { listenOnLoopback } from '../test-kits/loopback.ts';
import { CertificateAuthority } from './certificate-authority.ts';
import { KeyCache } from './key-cache.ts';
import { EC_P256, keySpecName, parseKeySpec, RSA_2048 } from './key-spec.ts';
import { pkiTicket } from './ticket.ts';

t.test('leaves carry the endpoint name as CN and SAN, signed by the CA, long-lived', async (t) => {
  const ca = await CertificateAuthority.create({ keySpec: EC_P256 });
  const leaf = await ca.issue('agent-7', EC_P256);
  const cert = new X509Certificate(leaf.certificatePem);
  const caCert = new X509Certificate(ca.certificatePem);
  t.equal(cert.subject, 'CN=agent-7');
  t.equal(cert.subjectAltName, 'DNS:agent-7');
  t.ok(cert.checkIssued(caCert), 'issued by the CA');
  t.ok(cert.verify(caCert.publicKey), 'signature verifies');
  t.ok(caCert.ca, 'the CA is a CA');
  t.notOk(cert.ca, 'a leaf is not');
  const validDays = (Date.parse(cert.validTo) - Date.now()) / 86_400_000;
  t.ok(
    validDays > 4 * 365,
    `leaf valid for years (${Math.round(validDays)} days), so Icinga never renews mid-run`,
  );
});

t.test('RSA and EC leaves complete a real mutual TLS handshake with each other', async (t) => {
  const ca = await CertificateAuthority.create({ keySpec: RSA_2048 });
  const server = await ca.issue('master1', RSA_2048);
  const client = await ca.issue('agent-1', EC_P256);
  const tlsServer = createServer({
    key: server.privateKeyPem,
    cert: server.certificatePem,
    ca: ca.certificatePem,
    requestCert: true,
    rejectUnauthorized: true,
  });
  const { port } = await listenOnLoopback(t, tlsServer);
  const peerName = once(tlsServer, 'secureConnection').then(([socket]) => {
    const name = (socket as TLSSocket).getPeerCertificate().subject.CN;
    (socket as TLSSocket).end();
    return name;
  });
  const socket = connect({
    host: '127.0.0.1',
    port,
    servername: 'master1',
    key: client.privateKeyPem,
    cert: client.certificatePem,
    ca: ca.certificatePem,
  });
  await once(socket, 'secureConnect');
  t.ok(socket.authorized, `client verified the server (${socket.authorizationError ?? 'ok'})`);
  t.equal(await peerName, 'agent-1', 'server saw the client certificate');
  socket.destroy();
});

t.test('intermediates: leaves carry the chain, peers trusting the root alone verify it', async (t) => {
  const ca = await CertificateAuthority.create({ keySpec: EC_P256, intermediates: 2, trustedCas: 4 });
  const server = await ca.issue('master1', EC_P256);
  const client = await ca.issue('agent-1', EC_P256);
  const pems =
    server.certificatePem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  t.equal(pems.length, 3, 'the leaf, then two intermediates');
  const [leaf, first, second] = pems.map((pem) => new X509Certificate(pem));
  t.ok(
    leaf && first && second && leaf.checkIssued(first) && first.checkIssued(second),
    'each issued by the next',
  );
  const root = new X509Certificate(ca.certificatePem);
  t.ok(second?.checkIssued(root), 'the last by the root');
  const bundle = ca.trustBundlePem.match(/-----BEGIN CERTIFICATE-----/g) ?? [];
  t.equal(bundle.length, 4, 'the root and three fillers in the trust bundle');
  const tlsServer = createServer({
    key: server.privateKeyPem,
    cert: server.certificatePem,
    ca: ca.trustBundlePem,
    requestCert: true,
    rejectUnauthorized: true,
  });
  const { port } = await listenOnLoopback(t, tlsServer);
  const accepted = once(tlsServer, 'secureConnection').then(([socket]) => (socket as TLSSocket).end());
  const socket = connect({
    host: '127.0.0.1',
    port,
    servername: 'master1',
    key: client.privateKeyPem,
    cert: client.certificatePem,
    ca: ca.certificatePem,
  });
  await once(socket, 'secureConnect');
  t.ok(socket.authorized, `the chain verified against the root (${socket.authorizationError ?? 'ok'})`);
  await accepted;
  socket.destroy();
  await t.rejects(CertificateAuthority.create({ keySpec: EC_P256, intermediates: 6 }), { code: 'HH_USAGE' });
  await t.rejects(CertificateAuthority.create({ keySpec: EC_P256, trustedCas: 0 }), { code: 'HH_USAGE' });
});

t.test('leaf keys are cached on disk by spec and reused by the next run', async (t) => {
  const dir = t.testdir();
  const first = await CertificateAuthority.create({ keySpec: EC_P256, keyCache: new KeyCache(dir) });
  const a = await first.issue('a', RSA_2048);
  const b = await first.issue('b', RSA_2048);
  t.not(a.privateKeyPem, b.privateKeyPem, 'two leaves, two keys');
  t.same(await readdir(`${dir}/${keySpecName(RSA_2048)}`), ['0.pem', '1.pem']);
  const second = await CertificateAuthority.create({ keySpec: EC_P256, keyCache: new KeyCache(dir) });
  const again = await second.issue('a', RSA_2048);
  t.equal(again.privateKeyPem, a.privateKeyPem, 'same key from the cache');
  t.not(again.certificatePem, a.certificatePem, 'but a fresh certificate from the new CA');
  t.ok(new X509Certificate(again.certificatePem).checkIssued(new X509Certificate(second.certificatePem)));
});

t.test('key specs parse from flags and refuse unknown ones', async (t) => {
  t.same(parseKeySpec('rsa4096'), { type: 'rsa', bits: 4096 });
  t.same(parseKeySpec('RSA-2048'), { type: 'rsa', bits: 2048 });
  t.same(parseKeySpec('ec-p256'), { type: 'ec', curve: 'P-256' });
  t.throws(() => parseKeySpec('rsa1024'), { code: 'HH_USAGE' });
});

t.test('tickets are PBKDF2-HMAC-SHA1 over the CN, 40 hex characters', async (t) => {
  const ticket = await pkiTicket('agent-1', 'salt');
  t.match(ticket, /^[0-9a-f]{40}$/);
  t.equal(await pkiTicket('agent-1', 'salt'), ticket, 'deterministic');
  t.not(await pkiTicket('agent-2', 'salt'), ticket);
});
