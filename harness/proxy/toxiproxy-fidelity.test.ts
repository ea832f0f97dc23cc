import t, { type Test } from 'tap';
import { Toxiproxy } from 'toxiproxy-node-client';
import { echoServer, roundTrip } from '../test-kits/proxy.ts';
import { ProxyControlApi } from './control-api.ts';

// What Toxiproxy's own clients do against `hunt proxy`, route by route: the node client where it
// has the call, raw HTTP for what only toxiproxy-cli sends (PATCH, "name": "").
async function setUp(t: Test) {
  const { address } = await echoServer(t);
  const api = await ProxyControlApi.start({ port: 0, seed: 1 });
  t.teardown(() => api.close());
  const base = `http://127.0.0.1:${api.address.port}`;
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${base}${path}`, {
      method,
      body: body === undefined ? undefined : JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  };
  const upstream = `127.0.0.1:${address.port}`;
  await call('POST', '/proxies', { name: 'db', listen: '127.0.0.1:0', upstream });
  return { api, call, upstream, client: new Toxiproxy(base), echo: address };
}

t.test(
  'PATCH of a toxic changes it; PATCH of a proxy disables it (toxiproxy-cli toxic update, toggle)',
  async (t) => {
    const { api, call } = await setUp(t);
    await call('POST', '/proxies/db/toxics', {
      name: 'slow',
      type: 'latency',
      attributes: { latency: 100, jitter: 10 },
    });
    const updated = await call('PATCH', '/proxies/db/toxics/slow', {
      attributes: { latency: 300 },
      toxicity: 1,
    });
    t.equal(updated.status, 200);
    t.match(
      updated.body,
      { name: 'slow', attributes: { latency: 300, jitter: 10 } },
      'changed, the rest kept',
    );
    t.match(api.proxies.get('db')?.toxic('slow'), { attributes: { latency: 300, jitter: 10 } });
    const disabled = await call('PATCH', '/proxies/db', { enabled: false });
    t.match(disabled, { status: 200, body: { enabled: false } });
    t.equal(api.proxies.get('db')?.enabled, false, 'really disabled');
    t.match(await call('POST', '/proxies/db', { enabled: true }), { status: 200, body: { enabled: true } });
  },
);

t.test(
  'a toxic without a name (toxiproxy-cli sends "") is named <type>_<stream>, and can be deleted',
  async (t) => {
    const { call } = await setUp(t);
    const first = await call('POST', '/proxies/db/toxics', {
      name: '',
      type: 'latency',
      stream: 'downstream',
      toxicity: 1,
      attributes: {},
    });
    t.match(first, { status: 200, body: { name: 'latency_downstream' } });
    const second = await call('POST', '/proxies/db/toxics', {
      name: '',
      type: 'latency',
      stream: 'upstream',
      attributes: {},
    });
    t.match(second, { status: 200, body: { name: 'latency_upstream' } });
    t.match(await call('POST', '/proxies/db/toxics', { name: '', type: 'latency', attributes: {} }), {
      status: 409,
      body: { error: /already has a toxic named "latency_downstream"/ },
    });
    t.equal((await call('DELETE', '/proxies/db/toxics/latency_downstream')).status, 204);
    t.same(
      (await call('GET', '/proxies/db/toxics')).body.map((x: { name: string }) => x.name),
      ['latency_upstream'],
    );
  },
);

t.test('a rejected update leaves the toxic as it was', async (t) => {
  const { call } = await setUp(t);
  await call('POST', '/proxies/db/toxics', { name: 'slow', type: 'latency', attributes: { latency: 100 } });
  t.equal((await call('POST', '/proxies/db/toxics/slow', { toxicity: 7 })).status, 400);
  t.equal((await call('PATCH', '/proxies/db/toxics/slow', { attributes: { latency: -1 } })).status, 400);
  t.match(await call('GET', '/proxies/db/toxics/slow'), {
    status: 200,
    body: { toxicity: 1, attributes: { latency: 100 } },
  });
});

t.test("Toxiproxy's statuses and bodies: 409, JSON version, attributes with their defaults", async (t) => {
  const { call, upstream } = await setUp(t);
  t.match(await call('POST', '/proxies', { name: 'db', listen: '127.0.0.1:0', upstream }), {
    status: 409,
    body: { error: /already exists/, status: 409 },
  });
  t.match(await call('GET', '/version'), { status: 200, body: { version: /^2\./ } });
  const created = await call('POST', '/proxies/db/toxics', { type: 'latency', attributes: { latency: 5 } });
  t.same(created.body.attributes, { latency: 5, jitter: 0 }, 'jitter filled in');
  const slicer = await call('POST', '/proxies/db/toxics', {
    type: 'slicer',
    stream: 'upstream',
    attributes: { average_size: 8 },
  });
  t.same(slicer.body.attributes, { average_size: 8, size_variation: 0, delay: 0 });
  t.match(await call('POST', '/proxies/db/toxics', { name: 'x', type: 'nonsense' }), { status: 400 });
  t.match(await call('GET', '/proxies/nope'), { status: 404 });
});

t.test(
  '/populate: all or nothing, identical proxies kept with their toxics, changed ones replaced',
  async (t) => {
    const { api, call, upstream } = await setUp(t);
    await call('POST', '/proxies/db/toxics', { name: 'slow', type: 'latency', attributes: { latency: 50 } });
    const db = api.proxies.get('db');
    const listen = `127.0.0.1:${db?.listen.port}`;
    const bad = await call('POST', '/populate', [
      { name: 'web', listen: '127.0.0.1:0', upstream },
      { name: 'broken', listen: '127.0.0.1:0' },
    ]);
    t.equal(bad.status, 400);
    t.match(bad.body, { error: /needs an upstream.*proxy 2 of the list/ });
    t.same([...api.proxies.keys()], ['db'], 'the valid first entry was not created either');

    const populated = await call('POST', '/populate', [
      { name: 'db', listen, upstream },
      { name: 'web', listen: '127.0.0.1:0', upstream },
    ]);
    t.equal(populated.status, 201);
    t.same(
      populated.body.proxies.map((p: { name: string }) => p.name),
      ['db', 'web'],
    );
    t.equal(api.proxies.get('db'), db, 'the identical proxy is the same one');
    t.same(
      api.proxies
        .get('db')
        ?.toxics()
        .map((x) => x.name),
      ['slow'],
      'with its toxics',
    );

    await call('POST', '/populate', [{ name: 'db', listen: '127.0.0.1:0', upstream }]);
    t.not(api.proxies.get('db'), db, 'a changed listen address replaces it');
    t.same(api.proxies.get('db')?.toxics(), [], 'fresh, without toxics');
  },
);

t.test('updating "listen" moves the listener; the toxics stay', async (t) => {
  const { api, call, echo } = await setUp(t);
  await call('POST', '/proxies/db/toxics', { name: 'slow', type: 'latency', attributes: { latency: 30 } });
  const before = api.proxies.get('db')?.listen;
  const moved = await call('PATCH', '/proxies/db', { listen: '127.0.0.1:0' });
  t.equal(moved.status, 200);
  const after = api.proxies.get('db')?.listen;
  t.not(after?.port, before?.port, `now on port ${after?.port}`);
  t.match(moved.body, { listen: `127.0.0.1:${after?.port}`, enabled: true });
  const { data, ms } = await roundTrip(after as never, 'moved');
  t.equal(data.toString(), 'moved');
  t.ok(ms >= 30, `through the toxic still (${Math.round(ms)} ms)`);
  t.ok(echo.port > 0);
});
