import t from 'tap';
import { seededRandom } from '../random.ts';
import { encodeNetstring, NetstringError, NetstringParser } from './netstring.ts';

const hello = '{"jsonrpc":"2.0","method":"icinga::Hello","params":{"version":21406,"capabilities":3}}';

t.test('round trip, one message or several per chunk', async (t) => {
  const parser = new NetstringParser();
  const wire = Buffer.concat([encodeNetstring(hello), encodeNetstring(''), encodeNetstring('{"a":"ü"}')]);
  t.same(
    parser.push(wire).map((m) => m.toString()),
    [hello, '', '{"a":"ü"}'],
  );
  t.equal(encodeNetstring('{"a":"ü"}').toString(), '10:{"a":"ü"},', 'length counts bytes, not characters');
});

t.test('any split of the stream yields the same messages (property, 500 random splits)', async (t) => {
  const random = seededRandom(7);
  const messages = Array.from({ length: 20 }, (_, i) =>
    JSON.stringify({ i, pad: 'x'.repeat(Math.floor(random() * 3000)) }),
  );
  const wire = Buffer.concat(messages.map((m) => encodeNetstring(m)));
  for (let run = 0; run < 500; run++) {
    const parser = new NetstringParser();
    const out: string[] = [];
    let offset = 0;
    while (offset < wire.length) {
      const size = 1 + Math.floor(random() * (random() < 0.3 ? 4 : 5000));
      out.push(...parser.push(wire.subarray(offset, offset + size)).map((m) => m.toString()));
      offset += size;
      if (parser.bufferedBytes > 3020 + 10)
        t.fail(`buffered ${parser.bufferedBytes} bytes: more than one message`);
    }
    if (out.join('\n') !== messages.join('\n')) t.fail(`split run ${run} differs`);
  }
  t.pass('all splits agree');
});

t.test('malformed framing is refused the way Icinga refuses it, with a typed error', async (t) => {
  const cases: Array<[string, NetstringError['reason']]> = [
    ['05:hello,', 'leading-zero'],
    [':x,', 'empty-length'],
    ['1234567890:', 'too-many-digits'],
    ['5x', 'bad-length-char'],
    ['5;hello,', 'bad-length-char'],
    ['5:hello;', 'missing-comma'],
  ];
  for (const [input, reason] of cases) {
    const parser = new NetstringParser();
    t.throws(
      () => parser.push(Buffer.from(input)),
      { name: 'NetstringError', reason, code: 'HH_PROTOCOL' },
      input,
    );
    t.throws(
      () => parser.push(Buffer.from('1:x,')),
      { name: 'NetstringError', reason },
      'stays failed after an error',
    );
  }
});

t.test('a huge declared length is refused before buffering anything', async (t) => {
  const parser = new NetstringParser(1024 * 1024);
  t.throws(() => parser.push(Buffer.from('999999999:')), { name: 'NetstringError', reason: 'too-large' });
  const ok = new NetstringParser(10);
  t.same(ok.push(Buffer.from('10:0123456789,')).length, 1, 'exactly the limit is fine');
});

t.test(
  'random garbage never throws anything but a NetstringError, and never grows the buffer (fuzz)',
  async (t) => {
    const random = seededRandom(99);
    const limit = 4096;
    for (let run = 0; run < 2000; run++) {
      const parser = new NetstringParser(limit);
      const bytes = Buffer.from(
        Array.from({ length: 1 + Math.floor(random() * 200) }, () => Math.floor(random() * 256)),
      );
      // Bias towards digits and ':' so the parser gets past the length now and then.
      for (let i = 0; i < bytes.length; i++)
        if (random() < 0.5) bytes[i] = '0123456789:,'.charCodeAt(Math.floor(random() * 12));
      try {
        for (let offset = 0; offset < bytes.length; offset += 7)
          parser.push(bytes.subarray(offset, offset + 7));
      } catch (error) {
        if (!(error instanceof NetstringError)) {
          t.fail(`untyped error on run ${run}: ${error}`);
          return;
        }
      }
      if (parser.bufferedBytes > limit + 10) {
        t.fail(`buffer grew to ${parser.bufferedBytes}`);
        return;
      }
    }
    t.pass('2,000 garbage inputs handled');
  },
);
