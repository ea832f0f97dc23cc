import t from 'tap';
import type { HandshakeHead } from './handshake-heads.ts';
import { certificateMessageLength, handshakeSizes } from './handshake-sizes.ts';

const head = (stream: number, fromServer: boolean, type: string, declaredLength: number, extra = {}) =>
  ({
    frame: 0,
    stream,
    from: fromServer ? '10.0.0.2:5665' : `10.0.0.1:${40000 + stream}`,
    to: fromServer ? `10.0.0.1:${40000 + stream}` : '10.0.0.2:5665',
    type,
    declaredLength,
    ...extra,
  }) as HandshakeHead;

t.test('medians per message over the connections to the server port, the flight with headers', async (t) => {
  const connection = (stream: number, certificate: number) => [
    head(stream, false, 'ClientHello', 300),
    head(stream, true, 'ServerHello', 90),
    head(stream, true, 'EncryptedExtensions', 6),
    head(stream, true, 'CertificateRequest', 60),
    head(stream, true, 'Certificate', certificate),
    head(stream, true, 'CertificateVerify', 260),
    head(stream, true, 'Finished', 32),
    head(stream, false, 'Certificate', 1400),
    head(stream, true, 'NewSessionTicket', 200),
  ];
  const sizes = handshakeSizes(
    [
      ...connection(1, 1500),
      ...connection(2, 1500),
      ...connection(3, 9999),
      head(4, false, 'ClientHello', 1),
    ],
    5665,
  );
  t.same(sizes, {
    connections: 3,
    tls13: true,
    serverCertificate: 1500,
    serverCertificateCompressed: undefined,
    clientCertificate: 1400,
    certificateRequest: 60,
    serverFlight: 90 + 6 + 60 + 1500 + 260 + 32 + 6 * 4,
  });
});

t.test('a compressed Certificate counts its uncompressed length, and its wire size apart', async (t) => {
  const sizes = handshakeSizes(
    [
      head(1, true, 'ServerHello', 90),
      head(1, true, 'CompressedCertificate', 900, { uncompressedLength: 2600 }),
    ],
    5665,
  );
  t.match(sizes, { serverCertificate: 2600, serverCertificateCompressed: 900, tls13: false });
});

t.test('the Certificate body follows from the certificates: TLS 1.2 and TLS 1.3 framing', async (t) => {
  t.equal(certificateMessageLength([1000, 800], false), 3 + 3 + 1000 + 3 + 800);
  t.equal(certificateMessageLength([1000, 800], true), 1 + 3 + (3 + 1000 + 2) + (3 + 800 + 2));
});

t.test(
  'TLS 1.2: the flight ends at ServerHelloDone; a later encrypted record read as a header is left out',
  async (t) => {
    const sizes = handshakeSizes(
      [
        head(1, true, 'ServerHello', 80),
        head(1, true, 'Certificate', 1577),
        head(1, true, 'ServerKeyExchange', 300),
        head(1, true, 'CertificateRequest', 72),
        head(1, true, 'ServerHelloDone', 0),
        head(1, true, 'Finished', 5_800_000),
      ],
      5665,
    );
    t.match(sizes, { tls13: false, serverFlight: 80 + 1577 + 300 + 72 + 0 + 5 * 4 });
  },
);
