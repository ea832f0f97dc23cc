import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { ErrorCodes, HuntError, isHuntError } from '../errors.ts';
import type { EventSink } from '../run/history.ts';
import { type Address, ChaosProxy, parseAddress, type ToxicSpec } from './chaos-proxy.ts';

export const CONTROL_API_VERSION = '2.12.0-handshake-hunter';

/**
 * Toxiproxy's HTTP control API over our proxies, so existing Toxiproxy clients work:
 * /version, /reset, /populate, /proxies[/name[/toxics[/toxic]]]. Listens on loopback only.
 */
export class ProxyControlApi {
  readonly proxies = new Map<string, ChaosProxy>();
  private readonly server: Server;
  private readonly events: EventSink | undefined;
  private readonly seed: number;
  address: Address = { host: '127.0.0.1', port: 0 };

  private constructor(options: { events?: EventSink; seed?: number }) {
    this.events = options.events;
    this.seed = options.seed ?? 1;
    this.server = createServer((request, response) => {
      void this.handle(request, response);
    });
  }

  static async start(
    options: { port?: number; events?: EventSink; seed?: number } = {},
  ): Promise<ProxyControlApi> {
    const api = new ProxyControlApi(options);
    api.server.listen(options.port ?? 8474, '127.0.0.1');
    try {
      await Promise.race([
        once(api.server, 'listening'),
        once(api.server, 'error').then(([error]) => {
          throw error;
        }),
      ]);
    } catch (error) {
      throw new HuntError(
        ErrorCodes.PROXY_LISTEN,
        `Control API cannot listen on 127.0.0.1:${options.port ?? 8474}: ${(error as { code?: string }).code}.`,
      );
    }
    api.address = { host: '127.0.0.1', port: (api.server.address() as { port: number }).port };
    return api;
  }

  /** Adds a proxy (as POST /proxies does). */
  async createProxy(body: {
    name?: unknown;
    listen?: unknown;
    upstream?: unknown;
    enabled?: unknown;
  }): Promise<ChaosProxy> {
    if (typeof body.name !== 'string' || !body.name)
      throw new HuntError(ErrorCodes.USAGE, 'A proxy needs a name.');
    if (this.proxies.has(body.name))
      throw new HuntError(ErrorCodes.USAGE, `Proxy ${body.name} already exists.`);
    if (body.upstream === undefined)
      throw new HuntError(ErrorCodes.USAGE, `Proxy ${body.name} needs an upstream (host:port).`);
    const proxy = await ChaosProxy.start({
      name: body.name,
      listen: parseAddress('listen', body.listen ?? '127.0.0.1:0'),
      upstream: parseAddress('upstream', body.upstream),
      enabled: body.enabled !== false,
      seed: this.seed + this.proxies.size,
      events: this.events,
    });
    this.proxies.set(body.name, proxy);
    return proxy;
  }

  /** Creates (or re-creates) every proxy of a list, as POST /populate and `hunt proxy --config` do. */
  async populate(list: unknown): Promise<ChaosProxy[]> {
    if (!Array.isArray(list))
      throw new HuntError(
        ErrorCodes.CONFIG_INVALID,
        'A proxy list must be a JSON array of {"name", "listen", "upstream", "enabled"} objects.',
      );
    const proxies: ChaosProxy[] = [];
    for (const item of list as Array<{ name?: unknown }>) {
      const existing = typeof item?.name === 'string' ? this.proxies.get(item.name) : undefined;
      if (existing) {
        await existing.close();
        this.proxies.delete(existing.name);
      }
      proxies.push(await this.createProxy(item ?? {}));
    }
    return proxies;
  }

  async close(): Promise<void> {
    for (const proxy of this.proxies.values()) await proxy.close();
    this.proxies.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private proxy(name: string): ChaosProxy {
    const proxy = this.proxies.get(name);
    if (!proxy) throw new HuntError(ErrorCodes.PROXY_NOT_FOUND, `No proxy named ${name}.`);
    return proxy;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    try {
      const url = new URL(request.url ?? '/', 'http://control');
      const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
      const method = request.method ?? 'GET';
      const body = method === 'POST' ? await readJson(request) : undefined;
      const [root, name, sub, toxicName] = parts;
      if (root === 'version' && method === 'GET')
        return send(response, 200, CONTROL_API_VERSION, 'text/plain');
      if (root === 'reset' && method === 'POST') {
        for (const proxy of this.proxies.values()) {
          proxy.clearToxics();
          await proxy.enable();
        }
        return send(response, 204);
      }
      if (root === 'populate' && method === 'POST') {
        const proxies = await this.populate(body);
        return send(response, 201, { proxies: proxies.map((proxy) => proxy.toJSON()) });
      }
      if (root !== 'proxies') return send(response, 404, { error: 'not found', status: 404 });
      if (name === undefined) {
        if (method === 'GET')
          return send(response, 200, Object.fromEntries([...this.proxies].map(([n, p]) => [n, p.toJSON()])));
        if (method === 'POST') return send(response, 201, (await this.createProxy(body as object)).toJSON());
      } else if (sub === undefined) {
        const proxy = this.proxy(name);
        if (method === 'GET') return send(response, 200, proxy.toJSON());
        if (method === 'DELETE') {
          await proxy.close();
          this.proxies.delete(name);
          return send(response, 204);
        }
        if (method === 'POST' || method === 'PATCH') {
          const change = (body ?? {}) as { enabled?: boolean; upstream?: string };
          if (change.upstream !== undefined) await proxy.retarget(parseAddress('upstream', change.upstream));
          if (change.enabled === false) await proxy.disable();
          if (change.enabled === true) await proxy.enable();
          return send(response, 200, proxy.toJSON());
        }
      } else if (sub === 'toxics') {
        const proxy = this.proxy(name);
        if (toxicName === undefined) {
          if (method === 'GET') return send(response, 200, proxy.toxics());
          if (method === 'POST') return send(response, 200, await proxy.addToxic(body as ToxicSpec));
        } else {
          if (method === 'GET') return send(response, 200, proxy.toxic(toxicName));
          if (method === 'DELETE') {
            proxy.removeToxic(toxicName);
            return send(response, 204);
          }
          if (method === 'POST' || method === 'PATCH') {
            return send(
              response,
              200,
              await proxy.updateToxic(
                toxicName,
                (body ?? {}) as { toxicity?: number; attributes?: Record<string, unknown> },
              ),
            );
          }
        }
      }
      return send(response, 405, { error: `${method} not allowed here`, status: 405 });
    } catch (error) {
      const status = isHuntError(error, ErrorCodes.PROXY_NOT_FOUND)
        ? 404
        : isHuntError(error)
          ? error.code === ErrorCodes.PROXY_LISTEN
            ? 409
            : 400
          : 500;
      return send(response, status, {
        error: (error as Error).message,
        status,
        code: (error as HuntError).code,
      });
    }
  }
}

function send(response: ServerResponse, status: number, body?: unknown, type = 'application/json'): void {
  const text = body === undefined ? '' : type === 'application/json' ? JSON.stringify(body) : String(body);
  response.writeHead(status, { 'content-type': type }).end(text);
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > 1024 * 1024) throw new HuntError(ErrorCodes.USAGE, 'Request body over 1 MiB.');
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new HuntError(ErrorCodes.USAGE, 'The request body is not JSON.');
  }
}
