import t from 'tap';
import { echoServer, proxyTo, roundTrip } from '../../test-kits/proxy.ts';

t.test('slow_close holds the FIN back', async (t) => {
  const { address } = await echoServer(t);
  const proxy = await proxyTo(t, address, [
    { type: 'slow_close', stream: 'downstream', attributes: { delay: 300 } },
  ]);
  const { data, ms } = await roundTrip(proxy.listen, 'bye');
  t.equal(data.toString(), 'bye');
  t.ok(ms >= 280, `the close came after ${Math.round(ms)} ms`);
});
