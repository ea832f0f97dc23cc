import t from 'tap';
import { encodeNetstring, type NetstringError, NetstringParser } from './netstring.ts';

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

// Splits and garbage: fuzz/properties.ts (fast-check), run by fuzz/properties.test.ts and npm run fuzz.

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
