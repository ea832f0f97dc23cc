import t from 'tap';
import { capturedClientHello, tlsPeers } from '../test-kits/tls.ts';
import { HandshakeScanner, HandshakeType, serverNameOf, TlsRecordReader } from './tls-records.ts';

const peers = await tlsPeers();
const hello = await capturedClientHello(peers);

t.test('a real ClientHello parses: one handshake record, its header, its server name', async (t) => {
  const reader = new TlsRecordReader();
  const { records, rest } = reader.push(hello);
  t.equal(records.length, 1);
  t.equal(rest.length, 0);
  const headers = new HandshakeScanner().scan(records[0] as never);
  t.equal(headers[0]?.type, HandshakeType.ClientHello);
  t.equal(headers[0]?.length, hello.length - 9, 'declared length = record minus 5 + 4 header bytes');
  t.equal(headers[0]?.offsetInRecord, 5);
  t.equal(serverNameOf(records[0] as never), 'master1');
});

// Splits and garbage: fuzz/properties.ts (fast-check), run by fuzz/properties.test.ts and npm run fuzz.

t.test('a record header that cannot be TLS turns the reader opaque: bytes pass unparsed', async (t) => {
  const reader = new TlsRecordReader();
  const { records, rest } = reader.push(Buffer.from('GET / HTTP/1.1\r\n'));
  t.equal(records.length, 0);
  t.equal(rest.toString(), 'GET / HTTP/1.1\r\n');
  t.ok(reader.opaque);
});
