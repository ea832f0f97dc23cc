import t from 'tap';
import { echoServer, proxyTo, roundTrip } from '../../test-kits/proxy.ts';

t.test('latency delays each direction by about its value, and jitter stays in range', async (t) => {
  const { address } = await echoServer(t);
  const proxy = await proxyTo(t, address, [
    { type: 'latency', stream: 'downstream', attributes: { latency: 150, jitter: 20 } },
  ]);
  const { data, ms } = await roundTrip(proxy.listen, 'ping');
  t.equal(data.toString(), 'ping', 'data intact');
  t.ok(ms >= 125 && ms < 1000, `round trip ${Math.round(ms)} ms for 150 ± 20 ms`);
});
