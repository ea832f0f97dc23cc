import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { echoServer, roundTrip } from '../../test-kits/proxy.ts';

const hunt = join(import.meta.dirname, '..', 'hunt.ts');

/** Starts `hunt proxy ... --json` and returns its first JSON document. */
async function startProxyCommand(t: { teardown(fn: () => unknown): void }, args: string[]) {
  const child = spawn(process.execPath, [hunt, 'proxy', '--json', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let text = '';
  for await (const chunk of child.stdout) {
    text += chunk;
    try {
      return {
        child,
        result: JSON.parse(text) as { control: string; proxies: Array<{ name: string; listen: string }> },
      };
    } catch {
      // not the whole document yet
    }
  }
  throw new Error(`hunt proxy printed no JSON: ${text}`);
}

async function exitOf(child: ChildProcess): Promise<{ code: number | null; stderr: string }> {
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stderr };
}

t.test('hunt proxy serves the proxies of its config and takes toxics over the control API', async (t) => {
  const { address } = await echoServer(t);
  const config = join(t.testdir(), 'proxies.json');
  await writeFile(
    config,
    JSON.stringify([{ name: 'echo', listen: '127.0.0.1:0', upstream: `${address.host}:${address.port}` }]),
  );
  const { child, result } = await startProxyCommand(t, ['--port', '0', '--config', config]);
  const [proxy] = result.proxies;
  t.equal(proxy?.name, 'echo');
  const [host, port] = String(proxy?.listen).split(':') as [string, string];
  t.equal((await roundTrip({ host, port: Number(port) }, 'ping')).data.toString(), 'ping');

  const control = `http://${result.control}`;
  const added = await fetch(`${control}/proxies/echo/toxics`, {
    method: 'POST',
    body: JSON.stringify({ type: 'latency', stream: 'downstream', attributes: { latency: 300 } }),
  });
  t.equal(added.status, 200);
  const slow = await roundTrip({ host, port: Number(port) }, 'ping');
  t.equal(slow.data.toString(), 'ping');
  t.ok(slow.ms >= 290, `the latency toxic applies (${Math.round(slow.ms)} ms)`);

  child.kill('SIGINT');
  t.equal((await exitOf(child)).code, 130, 'an interrupt ends it with 130');
});

t.test('hunt proxy: bad input is exit 2 with what to do', async (t) => {
  const dir = t.testdir({ 'broken.json': '[{"name": ', 'object.json': '{"name": "x"}' });
  const cases: Array<[string[], RegExp]> = [
    [['--port', 'http'], /--port must be a whole number/],
    [['--config', join(dir, 'missing.json')], /Cannot read the proxy list .*ENOENT/],
    [['--config', join(dir, 'broken.json')], /is not JSON/],
    [['--config', join(dir, 'object.json')], /must be a JSON array/],
  ];
  for (const [args, message] of cases) {
    const child = spawn(process.execPath, [hunt, 'proxy', '--port', '0', ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const { code, stderr } = await exitOf(child);
    t.equal(code, 2, args.join(' '));
    t.match(stderr, message);
  }
});
