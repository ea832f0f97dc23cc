import t from 'tap';
import { Toxiproxy } from 'toxiproxy-node-client';
import { echoServer, roundTrip } from '../test-kits/proxy.ts';
import { ProxyControlApi } from './control-api.ts';

t.test('the Toxiproxy client library creates a proxy and a latency toxic through our API', async (t) => {
  const { address } = await echoServer(t);
  const api = await ProxyControlApi.start({ port: 0, seed: 1 });
  t.teardown(() => api.close());
  const toxiproxy = new Toxiproxy(`http://127.0.0.1:${api.address.port}`);
  t.match(
    JSON.parse(await toxiproxy.getVersion()),
    { version: /^2\./ },
    'the version as JSON, like Toxiproxy 2.7+',
  );
  const proxy = await toxiproxy.createProxy({
    name: 'icinga',
    listen: '127.0.0.1:0',
    upstream: `127.0.0.1:${address.port}`,
  });
  const listen = api.proxies.get('icinga')?.listen;
  t.ok(listen && listen.port > 0);
  const toxic = await proxy.addToxic({
    name: 'slow',
    type: 'latency',
    stream: 'downstream',
    toxicity: 1,
    attributes: { latency: 200, jitter: 0 },
  });
  t.equal(toxic.name, 'slow');
  const { data, ms } = await roundTrip(listen as never, 'ping');
  t.equal(data.toString(), 'ping');
  t.ok(ms >= 190, `latency applied (${Math.round(ms)} ms)`);
  const all = await toxiproxy.getAll();
  t.same(Object.keys(all), ['icinga']);
  t.equal(all.icinga?.upstream, `127.0.0.1:${address.port}`);
  t.match(await all.icinga?.getToxic('slow'), { attributes: { latency: 200 } }, 'the toxic reads back');
  await toxiproxy.reset();
  t.same(api.proxies.get('icinga')?.toxics(), [], 'reset removes toxics');
  await proxy.remove();
  t.equal(api.proxies.size, 0);
});

t.test('bad requests get the error and a 4xx, never a crash', async (t) => {
  const api = await ProxyControlApi.start({ port: 0, seed: 1 });
  t.teardown(() => api.close());
  const base = `http://127.0.0.1:${api.address.port}`;
  const post = (path: string, body: unknown) =>
    fetch(`${base}${path}`, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
    });
  const missing = await post('/proxies', { name: 'x', listen: '127.0.0.1:0' });
  t.equal(missing.status, 400);
  t.match(await missing.json(), { error: /needs an upstream/ });
  await post('/proxies', { name: 'x', listen: '127.0.0.1:0', upstream: '127.0.0.1:9' });
  const unknown = await post('/proxies/x/toxics', { type: 'nonsense' });
  t.equal(unknown.status, 400);
  t.match(await unknown.json(), {
    code: 'HH_TOXIC_UNKNOWN',
    error: /Unknown toxic type "nonsense". Known: .*latency/,
  });
  t.equal((await fetch(`${base}/proxies/nope`)).status, 404);
  const away = await post('/proxies/x', { upstream: '8.8.8.8:53' });
  t.equal(away.status, 400);
  t.match(await away.json(), { error: /neither loopback nor a private/ });
  t.equal(api.proxies.get('x')?.upstream.host, '127.0.0.1', 'the upstream stays as it was');
  t.equal((await post('/proxies/x', { upstream: '127.0.0.1:10' })).status, 200);
  t.same(api.proxies.get('x')?.upstream, { host: '127.0.0.1', port: 10 }, 'a local one is taken');
});
