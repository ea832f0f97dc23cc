import { readFile } from 'node:fs/promises';
import { ErrorCodes, HuntError } from '../../errors.ts';
import { ProxyControlApi } from '../../proxy/control-api.ts';
import { integerOption, parseCommandArgs } from '../args.ts';
import { type Command, showHelp } from '../command.ts';

export const proxy: Command = {
  name: 'proxy',
  summary: 'run the chaos proxy as a server with a Toxiproxy-compatible control API',
  help: `Usage: hunt proxy [--port <n>] [--config <file>] [--seed <n>] [--json]

Runs the chaos proxy on its own, like toxiproxy-server: an HTTP control API on 127.0.0.1
where Toxiproxy clients (or curl) create proxies and add toxics, TLS-aware ones included
(GET /proxies, POST /proxies, POST /proxies/<name>/toxics, POST /reset, GET /version).
Runs until interrupted (Ctrl-C or SIGTERM: exit 130).

  --port <n>       control API port on 127.0.0.1 (default 8474; 0 picks a free one)
  --config <file>  a JSON list of proxies to create at start, as Toxiproxy's config file:
                   [{"name": "node2", "listen": "172.20.0.1:18443", "upstream": "172.20.0.3:8443"}]
  --seed <n>       seed for the toxics' toxicity draws (default 1), so a run repeats

Containers of a stack reach a proxy that listens on their network's gateway address (the
host's side, e.g. 172.20.0.1: docker network inspect hh-<run>); upstreams must be loopback or
private (container) addresses. Inside a scenario, a proxied node of the target does all of this.`,
  async run(argv, output) {
    const { values } = parseCommandArgs('proxy', argv, {
      port: { type: 'string' },
      config: { type: 'string' },
      seed: { type: 'string' },
    });
    if (values.help) return showHelp(output, proxy.help);
    const port = integerOption('--port', values.port ?? '8474', 0, 65_535);
    const seed = integerOption('--seed', values.seed ?? '1', 0, 2 ** 31 - 1);
    const list = values.config === undefined ? [] : await readProxyList(values.config);
    const api = await ProxyControlApi.start({ port, seed });
    try {
      await api.populate(list);
    } catch (error) {
      await api.close();
      throw error;
    }
    const proxies = [...api.proxies.values()].map((p) => p.toJSON());
    const control = `${api.address.host}:${api.address.port}`;
    output.result(
      { control, proxies },
      [
        `control API on http://${control}`,
        ...proxies.map((p) => `proxy ${p.name}: ${p.listen} -> ${p.upstream}`),
      ].join('\n'),
    );
    output.step('serving; Ctrl-C stops');
    // The control API's server keeps the process alive; hunt's signal handler ends it (130).
    return await new Promise<number>(() => undefined);
  },
};

async function readProxyList(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new HuntError(
      ErrorCodes.CONFIG_INVALID,
      `Cannot read the proxy list ${file}: ${(error as { code?: string }).code ?? (error as Error).message}.`,
    );
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new HuntError(ErrorCodes.CONFIG_INVALID, `${file} is not JSON: ${(error as Error).message}.`);
  }
}
