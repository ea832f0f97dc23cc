import t from 'tap';
import { echoServer, proxyTo, roundTrip } from '../../test-kits/proxy.ts';

t.test('corrupt flips the byte at an offset', async (t) => {
  const { address } = await echoServer(t);
  const proxy = await proxyTo(t, address, [
    { type: 'corrupt', stream: 'upstream', attributes: { offset: 2 } },
  ]);
  const { data } = await roundTrip(proxy.listen, 'abcdef');
  t.same([...data], [0x61, 0x62, 0x63 ^ 0xff, 0x64, 0x65, 0x66]);
});

t.test('corrupt at a rate flips about that share of bytes, seeded', async (t) => {
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
    return [...data].flatMap((byte, i) => (byte !== 0 ? [i] : []));
  };
  const first = await flips(5);
  t.ok(first.length > 100 && first.length < 300, `${first.length} of 20,000 bytes flipped at 1%`);
  t.same(await flips(5), first, 'the same seed flips the same bytes');
});
