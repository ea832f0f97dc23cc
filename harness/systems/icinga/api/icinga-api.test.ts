import { createServer, type Server } from 'node:https';
import t from 'tap';
import { ErrorCodes } from '../../../errors.ts';
import { CertificateAuthority } from '../../../pki/certificate-authority.ts';
import { EC_P256 } from '../../../pki/key-spec.ts';
import { listenOnLoopback, type Teardown } from '../../../test-kits/loopback.ts';
import { IcingaApiClient, IcingaApiError } from './icinga-api.ts';

const ca = await CertificateAuthority.create({ keySpec: EC_P256 });
const master = await ca.issue('master1', EC_P256);

/** A stand-in for a master's HTTPS API: answers by path. */
async function fakeMaster(
  t: Teardown,
  routes: Record<string, [number, unknown]>,
  cert = master,
  seenUrls: string[] = [],
): Promise<string> {
  const server: Server = createServer(
    { key: cert.privateKeyPem, cert: cert.certificatePem },
    (request, response) => {
      seenUrls.push(request.url ?? '');
      const [status, body] = routes[request.url?.split('?')[0] ?? ''] ?? [
        404,
        { error: 404, status: 'No such path' },
      ];
      if (request.headers.authorization !== `Basic ${Buffer.from('hunt:secret').toString('base64')}`) {
        response.writeHead(401).end(JSON.stringify({ error: 401, status: 'Unauthorized' }));
        return;
      }
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    },
  );
  const { port } = await listenOnLoopback(t, server);
  return `https://127.0.0.1:${port}`;
}

function client(url: string, password = 'secret'): IcingaApiClient {
  return new IcingaApiClient({
    url,
    servername: 'master1',
    ca: ca.certificatePem,
    user: 'hunt',
    password,
    timeoutMs: 2000,
  });
}

t.test('reads typed status from a master that presents the stack CA', async (t) => {
  const url = await fakeMaster(t, {
    '/v1/status/IcingaApplication': [
      200,
      {
        results: [
          { status: { icingaapplication: { app: { pid: 42, program_start: 1.5, version: 'r2.13.6-1' } } } },
        ],
      },
    ],
    '/v1/objects/endpoints': [
      200,
      { results: [{ name: 'master2', type: 'Endpoint', attrs: { connected: true } }] },
    ],
  });
  const api = client(url);
  t.teardown(() => api.close());
  t.match(await api.icingaApplication(), { pid: 42, program_start: 1.5 });
  t.same([...(await api.endpointConnections())], [['master2', true]]);
});

t.test('asks Icinga to filter when only disconnected endpoints are wanted', async (t) => {
  const urls: string[] = [];
  const url = await fakeMaster(
    t,
    {
      '/v1/objects/endpoints': [
        200,
        { results: [{ name: 'sim-7', type: 'Endpoint', attrs: { connected: false } }] },
      ],
    },
    master,
    urls,
  );
  const api = client(url);
  t.teardown(() => api.close());
  t.same([...(await api.endpointConnections({ disconnectedOnly: true }))], [['sim-7', false]]);
  await api.endpointConnections();
  const [filtered, full] = urls.map((path) => new URL(path, 'https://x').searchParams);
  t.equal(filtered?.get('filter'), '!endpoint.connected');
  t.same(filtered?.getAll('attrs'), ['connected']);
  t.equal(full?.get('filter'), null, 'the full list is not filtered');
});

t.test('HTTP errors carry their status: 401, 423 and 503 mean different things in a reload', async (t) => {
  const url = await fakeMaster(t, {
    '/v1/config/stages/p': [
      423,
      { error: 423, status: 'Conflicting request, there is already an ongoing config update.' },
    ],
    '/v1/actions/restart-process': [503, { error: 503, status: 'Icinga is reloading.' }],
  });
  const api = client(url);
  t.teardown(() => api.close());
  const locked = await api.uploadStage('p', {}).catch((error: unknown) => error);
  t.ok(locked instanceof IcingaApiError);
  t.match(locked, { code: ErrorCodes.API_HTTP, status: 423, message: /423: Conflicting request/ });
  await t.rejects(api.restartProcess(), { status: 503, message: /Icinga is reloading/ });
  const wrongPassword = client(url, 'nope');
  t.teardown(() => wrongPassword.close());
  t.match(await wrongPassword.icingaApplication().catch((error: unknown) => error), {
    status: 401,
    code: ErrorCodes.API_HTTP,
  });
});

t.test('a server whose certificate is not from the stack CA is refused, never trusted', async (t) => {
  const otherCa = await CertificateAuthority.create({ keySpec: EC_P256 });
  const impostor = await otherCa.issue('master1', EC_P256);
  const url = await fakeMaster(t, { '/v1/status/IcingaApplication': [200, { results: [] }] }, impostor);
  const api = client(url);
  t.teardown(() => api.close());
  await t.rejects(api.icingaApplication(), { code: ErrorCodes.API_UNREACHABLE, message: /certificate/i });
});

t.test('a node that is down (mid-reload) is API_UNREACHABLE with the errno', async (t) => {
  // Port 1 on loopback: nothing listens there.
  const api = client('https://127.0.0.1:1');
  t.teardown(() => api.close());
  await t.rejects(api.icingaApplication(), { code: ErrorCodes.API_UNREACHABLE, message: /ECONNREFUSED/ });
});
