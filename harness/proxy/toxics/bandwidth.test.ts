import t from 'tap';
import { echoServer, proxyTo, roundTrip } from '../../test-kits/proxy.ts';

t.test('bandwidth limits throughput', async (t) => {
  const { address } = await echoServer(t);
  const proxy = await proxyTo(t, address, [
    { type: 'bandwidth', stream: 'downstream', attributes: { rate: 100 } },
  ]);
  const payload = Buffer.alloc(50 * 1024, 7);
  const { data, ms } = await roundTrip(proxy.listen, payload);
  t.equal(data.length, payload.length);
  t.ok(ms >= 400, `50 KB at 100 KB/s took ${Math.round(ms)} ms (>= 400)`);
});
