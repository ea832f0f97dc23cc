import t from 'tap';
import { seededRandom } from '../random.ts';
import {
  HandshakeScanner,
  HandshakeType,
  MAX_RECORD_FRAGMENT,
  serverNameOf,
  TlsRecordReader,
} from './tls-records.ts';
import { capturedClientHello, tlsPeers } from './tls-test-kit.ts';

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

t.test('any split of the stream yields the same records (property, 300 random splits)', async (t) => {
  const random = seededRandom(11);
  const stream = Buffer.concat([hello, hello, hello]);
  for (let run = 0; run < 300; run++) {
    const reader = new TlsRecordReader();
    let count = 0;
    for (let offset = 0; offset < stream.length; ) {
      const size = 1 + Math.floor(random() * 300);
      count += reader.push(stream.subarray(offset, offset + size)).records.length;
      offset += size;
    }
    if (count !== 3) t.fail(`run ${run}: ${count} records`);
  }
  t.pass('300 splits agree');
});

t.test('garbage never throws and never holds more than one record (fuzz)', async (t) => {
  const random = seededRandom(12);
  for (let run = 0; run < 2000; run++) {
    const reader = new TlsRecordReader();
    const scanner = new HandshakeScanner();
    const bytes = Buffer.from(
      Array.from({ length: 1 + Math.floor(random() * 400) }, () => Math.floor(random() * 256)),
    );
    if (random() < 0.5) bytes[0] = 22; // look like a handshake record now and then
    if (random() < 0.5 && bytes.length > 4) bytes.writeUInt16BE(Math.floor(random() * 64), 3);
    for (let offset = 0; offset < bytes.length; offset += 13) {
      const { records } = reader.push(bytes.subarray(offset, offset + 13));
      for (const record of records) {
        scanner.scan(record);
        serverNameOf(record);
      }
      if (reader.pendingBytes > MAX_RECORD_FRAGMENT + 5) t.fail(`pending grew to ${reader.pendingBytes}`);
    }
  }
  t.pass('2,000 garbage streams handled');
});

t.test('a record header that cannot be TLS turns the reader opaque: bytes pass unparsed', async (t) => {
  const reader = new TlsRecordReader();
  const { records, rest } = reader.push(Buffer.from('GET / HTTP/1.1\r\n'));
  t.equal(records.length, 0);
  t.equal(rest.toString(), 'GET / HTTP/1.1\r\n');
  t.ok(reader.opaque);
});
