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
  /** Proxies created so far: each gets seed + its number, so a re-run makes the same draws. */
  private created = 0;
  address: Address = { host: '127.0.0.1', port: 0 };

  private constructor(options: { events?: EventSink; seed: number }) {
    this.events = options.events;
    this.seed = options.seed;
    this.server = createServer((request, response) => {
      void this.handle(request, response);
    });
  }

  /** Listens on 127.0.0.1 (port 8474 by default, Toxiproxy's); toxicity draws derive from `seed`. */
  static async start(options: { port?: number; events?: EventSink; seed: number }): Promise<ProxyControlApi> {
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

  /** Adds a proxy (as POST /proxies does); a name in use is HH_PROXY_EXISTS (409). */
  async createProxy(body: unknown): Promise<ChaosProxy> {
    const config = proxyConfig(body);
    if (this.proxies.has(config.name))
      throw new HuntError(ErrorCodes.PROXY_EXISTS, `Proxy ${config.name} already exists.`);
    return this.startProxy(config);
  }

  /**
   * Creates every proxy of a list, as POST /populate and `hunt proxy --config` do. All or
   * nothing: every entry is checked before anything changes, and if one cannot start, those this
   * call created are removed again. A proxy that exists with the same listen address and
   * upstream is kept as it is (toxics, connections); one that differs is replaced.
   */
  async populate(list: unknown): Promise<ChaosProxy[]> {
    if (!Array.isArray(list))
      throw new HuntError(
        ErrorCodes.CONFIG_INVALID,
        'A proxy list must be a JSON array of {"name", "listen", "upstream", "enabled"} objects.',
      );
    const configs = list.map((item, index) => {
      try {
        return proxyConfig(item);
      } catch (error) {
        throw new HuntError(ErrorCodes.USAGE, `${(error as Error).message} (proxy ${index + 1} of the list)`);
      }
    });
    const names = configs.map((config) => config.name);
    const twice = names.find((name, index) => names.indexOf(name) !== index);
    if (twice) throw new HuntError(ErrorCodes.USAGE, `Proxy ${twice} is in the list twice.`);
    const result: ChaosProxy[] = [];
    const created: ChaosProxy[] = [];
    try {
      for (const config of configs) {
        const existing = this.proxies.get(config.name);
        if (existing && !differs(existing, config)) {
          result.push(existing);
          continue;
        }
        if (existing) {
          await existing.close();
          this.proxies.delete(existing.name);
        }
        const proxy = await this.startProxy(config);
        created.push(proxy);
        result.push(proxy);
      }
    } catch (error) {
      for (const proxy of created) {
        await proxy.close();
        this.proxies.delete(proxy.name);
      }
      throw error;
    }
    return result;
  }

  private async startProxy(config: ProxyConfig): Promise<ChaosProxy> {
    const proxy = await ChaosProxy.start({
      ...config,
      seed: this.seed + this.created++,
      events: this.events,
    });
    this.proxies.set(config.name, proxy);
    return proxy;
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
      const body = method === 'POST' || method === 'PATCH' ? await readJson(request) : undefined;
      const [root, name, sub, toxicName] = parts;
      // Toxiproxy 2.7+ answers JSON here (older ones plain text).
      if (root === 'version' && method === 'GET')
        return send(response, 200, { version: CONTROL_API_VERSION });
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
          if (body === undefined)
            throw new HuntError(
              ErrorCodes.USAGE,
              'bad request body: EOF (send the fields to change as JSON).',
            );
          const change = body as { enabled?: unknown; upstream?: unknown; listen?: unknown };
          // Checked whole before anything changes.
          const upstream =
            change.upstream === undefined ? undefined : parseAddress('upstream', change.upstream);
          const listen = change.listen === undefined ? undefined : parseAddress('listen', change.listen);
          if (change.enabled !== undefined && typeof change.enabled !== 'boolean')
            throw new HuntError(
              ErrorCodes.USAGE,
              `"enabled" is true or false, not ${JSON.stringify(change.enabled)}.`,
            );
          if (upstream && !sameAddress(upstream, proxy.upstream)) await proxy.retarget(upstream);
          if (listen && !sameAddress(listen, proxy.listen)) await proxy.moveListener(listen);
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
            if (body === undefined)
              throw new HuntError(
                ErrorCodes.USAGE,
                'bad request body: EOF (send the attributes to change as JSON).',
              );
            return send(
              response,
              200,
              await proxy.updateToxic(
                toxicName,
                body as { toxicity?: number; attributes?: Record<string, unknown> },
              ),
            );
          }
        }
      }
      return send(response, 405, { error: `${method} not allowed here`, status: 405 });
    } catch (error) {
      // Toxiproxy's statuses: 404 unknown proxy/toxic, 409 name in use, 500 cannot listen, 400 the rest.
      const status = !isHuntError(error)
        ? 500
        : error.code === ErrorCodes.PROXY_NOT_FOUND
          ? 404
          : error.code === ErrorCodes.PROXY_EXISTS
            ? 409
            : error.code === ErrorCodes.PROXY_LISTEN
              ? 500
              : 400;
      return send(response, status, {
        error: (error as Error).message,
        status,
        code: (error as HuntError).code,
      });
    }
  }
}

interface ProxyConfig {
  name: string;
  listen: Address;
  upstream: Address;
  enabled: boolean;
}

/** A proxy's JSON as Toxiproxy takes it, checked: name, upstream (both required), listen, enabled. */
function proxyConfig(body: unknown): ProxyConfig {
  const item = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  if (typeof item.name !== 'string' || !item.name)
    throw new HuntError(ErrorCodes.USAGE, 'missing required field: name (a proxy needs a name).');
  if (item.upstream === undefined)
    throw new HuntError(ErrorCodes.USAGE, `Proxy ${item.name} needs an upstream (host:port).`);
  if (item.enabled !== undefined && item.enabled !== null && typeof item.enabled !== 'boolean')
    throw new HuntError(ErrorCodes.USAGE, `Proxy ${item.name}: "enabled" is true or false.`);
  return {
    name: item.name,
    listen: parseAddress('listen', item.listen ?? '127.0.0.1:0'),
    upstream: parseAddress('upstream', item.upstream),
    enabled: item.enabled !== false,
  };
}

function sameAddress(a: Address, b: Address): boolean {
  return a.host === b.host && a.port === b.port;
}

/** Whether an existing proxy must be replaced to match a config (Toxiproxy's Differs). */
function differs(proxy: ChaosProxy, config: ProxyConfig): boolean {
  return !sameAddress(proxy.listen, config.listen) || !sameAddress(proxy.upstream, config.upstream);
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
