import t from 'tap';
import { DecryptedParser, handshakeHeads, parseDecrypted } from './handshake-heads.ts';

/** A plaintext handshake record holding `body`. */
const record = (body: Buffer) =>
  Buffer.concat([Buffer.from([22, 3, 3, body.length >> 8, body.length & 0xff]), body]);
const header = (type: number, length: number) =>
  Buffer.from([type, length >> 16, (length >> 8) & 0xff, length & 0xff]);

t.test(
  'TLS 1.2: an oversized Certificate cut off after its first record is named by its header',
  async (t) => {
    const first = record(Buffer.concat([header(11, 172_645), Buffer.alloc(16_380)]));
    const next = record(Buffer.alloc(16_384));
    const heads = handshakeHeads(
      [
        {
          frame: 4,
          stream: 0,
          from: 'c:1',
          to: 's:5665',
          payload: record(Buffer.concat([header(1, 2), Buffer.alloc(2)])),
        },
        // The first record split over two segments, the second record right behind it.
        { frame: 10, stream: 0, from: 'c:1', to: 's:5665', payload: first.subarray(0, 3) },
        {
          frame: 12,
          stream: 0,
          from: 'c:1',
          to: 's:5665',
          payload: Buffer.concat([first.subarray(3), next]),
        },
      ],
      new Map(),
    );
    t.same(
      heads.map((h) => [h.frame, h.type, h.declaredLength]),
      [
        [4, 'ClientHello', 2],
        [12, 'Certificate', 172_645],
      ],
      'the continuation record is not mistaken for a new message',
    );
  },
);

t.test(
  'TLS 1.3: headers come from the decrypted records; alerts and data after Finished are not messages',
  async (t) => {
    const decrypted = new Map([
      [6, [Buffer.concat([header(8, 2), Buffer.alloc(2), header(20, 48), Buffer.alloc(48)])]],
      [10, [Buffer.concat([header(11, 172_968), Buffer.alloc(100)])]],
      [13, [Buffer.from([2, 47])]],
      [20, [Buffer.from('12:{"jsonrpc"}')]],
    ]);
    const segment = (frame: number, from: string) => ({
      frame,
      stream: 3,
      from,
      to: 'x',
      payload: Buffer.from([23, 3, 3, 0, 1, 0]),
    });
    const heads = handshakeHeads(
      [segment(6, 's'), segment(10, 'c'), segment(13, 's'), segment(20, 's')],
      decrypted,
    );
    t.same(
      heads.map((h) => `${h.from} ${h.type} ${h.declaredLength}`),
      ['s EncryptedExtensions 2', 's Finished 48', 'c Certificate 172968'],
    );
  },
);

t.test("tshark -P -x output: each frame's decrypted blocks", async (t) => {
  const output = [
    '   10   0.008560 192.168.16.1 → 192.168.16.3 TLSv1.3 8760 Encrypted Handshake Message',
    '',
    'Frame (8760 bytes):',
    '0000  0b 81 da e8                                       ....',
    'Decrypted TLS (6 bytes):',
    '0000  0b 02 a3 a8 00 02                                 ......',
    '',
    '   13   0.008653 192.168.16.3 → 192.168.16.1 TLSv1.3 96 Alert',
    'Decrypted TLS (2 bytes):',
    '0000  02 2f                                             ./',
  ].join('\n');
  const parsed = parseDecrypted(output);
  t.same([...parsed.keys()], [10, 13]);
  t.same([...(parsed.get(10)?.[0] ?? [])], [0x0b, 0x02, 0xa3, 0xa8, 0x00, 0x02]);
  t.same([...(parsed.get(13)?.[0] ?? [])], [2, 47]);

  // Held plaintext is capped: past it, later blocks are counted, not kept.
  const capped = new DecryptedParser(7);
  for (const line of output.split('\n')) capped.line(line);
  t.same([...capped.end().keys()], [10], 'the first block fits in 7 bytes; the second does not');
  t.equal(capped.dropped, 1);
});

t.test('a compressed chain (RFC 8879, OpenSSL 3.5) is named with its uncompressed length', async (t) => {
  const body = Buffer.concat([
    header(25, 88_584),
    Buffer.from([0, 1]),
    Buffer.from([0x02, 0xa3, 0xa8]),
    Buffer.alloc(50),
  ]);
  const heads = handshakeHeads([], new Map());
  t.same(heads, []);
  const decrypted = new Map([[22, [body]]]);
  const segment = { frame: 22, stream: 1, from: 'c', to: 's', payload: Buffer.from([23, 3, 3, 0, 1, 0]) };
  t.match(handshakeHeads([segment], decrypted), [
    { type: 'CompressedCertificate', declaredLength: 88_584, uncompressedLength: 0x02a3a8 },
  ]);
});
