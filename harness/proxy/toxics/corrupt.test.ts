import t from 'tap';
import { derivedRandom } from '../../random.ts';
import { echoServer, proxyTo, roundTrip } from '../../test-kits/proxy.ts';

t.test('corrupt flips the byte at an offset', async (t) => {
  const { address } = await echoServer(t);
  const proxy = await proxyTo(t, address, [
    { type: 'corrupt', stream: 'upstream', attributes: { offset: 2 } },
  ]);
  const { data } = await roundTrip(proxy.listen, 'abcdef');
  t.same([...data], [0x61, 0x62, 0x63 ^ 0xff, 0x64, 0x65, 0x66]);
});

t.test('corrupt at a rate flips the bytes its seed picks', async (t) => {
  const { address } = await echoServer(t);
  const payload = Buffer.alloc(20_000, 0);
  const flips = async (seed: number) => {
    const proxy = await proxyTo(
      t,
      address,
      [{ type: 'corrupt', stream: 'upstream', attributes: { rate: 0.01 } }],
      seed,
    );
    const { data } = await roundTrip(proxy.listen, payload);
    t.equal(data.length, payload.length, 'no byte lost or added');
    t.ok(
      data.every((byte) => byte === 0 || byte === 0xff),
      'a flipped byte is XOR 0xff',
    );
    return [...data].flatMap((byte, i) => (byte !== 0 ? [i] : []));
  };
  // The model, apart from the toxic's code: after its toxicity draw, the link's generator gives
  // one draw per byte in stream order, and a byte flips where its draw is below the rate.
  const random = derivedRandom(5, '1:corrupt_upstream:upstream');
  random();
  const expected = [...payload].flatMap((_, i) => (random() < 0.01 ? [i] : []));
  const first = await flips(5);
  t.same(first, expected, 'seed 5 flips exactly the bytes its draws pick');
  t.equal(first.length, 195, 'pinned: 195 of 20,000 at 1%');
  t.same(await flips(5), first, 'the same seed flips the same bytes');
  t.notSame(await flips(6), first, 'another seed flips others');
});
