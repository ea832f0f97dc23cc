/**
 * The chaos proxy in a process of its own for bench:proxy: no toxics, or with a second argument a
 * latency toxic of that many ms on the downstream. Reports its port and RSS.
 */
import { ChaosProxy } from '../proxy/chaos-proxy.ts';

const [host, port] = (process.argv[2] as string).split(':') as [string, string];
const proxy = await ChaosProxy.start({
  seed: 1,
  name: 'bench',
  listen: { host: '127.0.0.1', port: 0 },
  upstream: { host, port: Number(port) },
});
const latency = process.argv[3];
if (latency !== undefined)
  await proxy.addToxic({ type: 'latency', stream: 'downstream', attributes: { latency: Number(latency) } });
process.send?.({ port: proxy.listen.port });
process.on('message', () => process.send?.({ rssMb: Math.round(process.memoryUsage().rss / 1e6) }));
