/**
 * npm run bench:proxy — loopback direct vs through the chaos proxy (no toxics) vs socat, in one
 * run: throughput of a 1 GiB transfer, added latency p50/p99 of small request/response round
 * trips, and 5,000 concurrent connections held. Each proxy runs in a process of its own.
 * Goals: >= 80% of direct throughput, p99 added latency under 1 ms, ahead of socat.
 */
import { type ChildProcess, execSync, fork, spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { writeFileAtomic } from '../fs-atomic.ts';
import { resultsDir } from '../paths.ts';
import { ratio, summarize } from './stats.ts';

const GIB = Number(process.env.HH_BENCH_BYTES ?? 1024 ** 3);
const ROUND_TRIPS = 5000;
const CONNECTIONS = Number(process.env.HH_BENCH_CONNECTIONS ?? 5000);

/** A server that discards uploads and echoes anything shorter than 1 KiB (pings). */
async function target(): Promise<{ server: Server; port: number; received: () => number }> {
  let received = 0;
  const server = createServer((socket) => {
    socket.on('error', () => undefined);
    socket.on('data', (data: Buffer) => {
      received += data.length;
      if (data.length < 1024) socket.write(data);
    });
  });
  server.maxConnections = CONNECTIONS * 2;
  server.listen(0, '127.0.0.1', 4096 * 4);
  await once(server, 'listening');
  return { server, port: (server.address() as { port: number }).port, received: () => received };
}

async function throughput(port: number, sink: () => number): Promise<number> {
  const start = sink();
  const socket = connect({ host: '127.0.0.1', port });
  await once(socket, 'connect');
  const block = Buffer.alloc(1024 * 1024, 1);
  const started = performance.now();
  for (let sent = 0; sent < GIB; sent += block.length) {
    if (!socket.write(block)) await once(socket, 'drain');
  }
  while (sink() - start < GIB) await new Promise((resolve) => setImmediate(resolve));
  const seconds = (performance.now() - started) / 1000;
  socket.destroy();
  return GIB / 1024 ** 2 / seconds;
}

async function roundTrips(port: number): Promise<number[]> {
  const socket = connect({ host: '127.0.0.1', port });
  socket.setNoDelay(true);
  await once(socket, 'connect');
  const ping = Buffer.alloc(64, 2);
  const times: number[] = [];
  for (let i = 0; i < ROUND_TRIPS + 200; i++) {
    const started = performance.now();
    socket.write(ping);
    let got = 0;
    while (got < ping.length) got += ((await once(socket, 'data')) as [Buffer])[0].length;
    if (i >= 200) times.push((performance.now() - started) * 1000); // µs, after warm-up
  }
  socket.destroy();
  return times;
}

async function holdConnections(port: number): Promise<{ ms: number; sockets: Socket[] }> {
  const started = performance.now();
  const sockets: Socket[] = [];
  for (let batch = 0; batch < CONNECTIONS; batch += 250) {
    await Promise.all(
      Array.from({ length: Math.min(250, CONNECTIONS - batch) }, async () => {
        const socket = connect({ host: '127.0.0.1', port });
        socket.on('error', () => undefined);
        sockets.push(socket);
        await once(socket, 'connect');
        socket.write('x');
        await once(socket, 'data');
      }),
    );
  }
  return { ms: Math.round(performance.now() - started), sockets };
}

async function startOurs(
  upstream: number,
): Promise<{ port: number; child: ChildProcess; rss: () => Promise<number> }> {
  const child = fork(join(import.meta.dirname, 'proxy-child.ts'), [`127.0.0.1:${upstream}`], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const [{ port }] = (await once(child, 'message')) as [{ port: number }];
  return {
    port,
    child,
    rss: async () => {
      child.send('rss');
      return ((await once(child, 'message')) as [{ rssMb: number }])[0].rssMb;
    },
  };
}

/** Resolves once something accepts on the port (at most 10 s). */
async function listening(port: number): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const ok = await new Promise<boolean>((resolve) => {
      const probe = connect({ host: '127.0.0.1', port });
      probe.once('connect', () => {
        probe.destroy();
        resolve(true);
      });
      probe.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`nothing listens on 127.0.0.1:${port} after 10 s`);
}

async function startSocat(
  upstream: number,
): Promise<{ port: number; child: ChildProcess; rss: () => Promise<number> }> {
  const port = 30_000 + Math.floor(Math.random() * 20_000);
  const child = spawn(
    'socat',
    [`TCP-LISTEN:${port},bind=127.0.0.1,fork,reuseaddr,backlog=4096`, `TCP:127.0.0.1:${upstream}`],
    { stdio: 'ignore' },
  );
  await listening(port);
  return {
    port,
    child,
    // socat forks one process per connection: sum them all.
    rss: async () => {
      const out = execSync(`ps --ppid ${child.pid} -o rss= ; ps -p ${child.pid} -o rss=`).toString();
      return Math.round(out.split('\n').reduce((sum, line) => sum + (Number(line.trim()) || 0), 0) / 1000);
    },
  };
}

const { server, port: upstream, received } = await target();
const report: Record<string, unknown> = { bytes: GIB, roundTrips: ROUND_TRIPS, connections: CONNECTIONS };
const direct = { mbps: await throughput(upstream, received), rtt: summarize(await roundTrips(upstream)) };
const results: Record<
  string,
  { mbps: number; rtt: ReturnType<typeof summarize>; holdMs: number; rssMb: number }
> = {};
for (const [name, start] of [
  ['chaos proxy', startOurs],
  ['socat', startSocat],
] as const) {
  const proxy = await start(upstream);
  try {
    const mbps = await throughput(proxy.port, received);
    const rtt = summarize(await roundTrips(proxy.port));
    const held = await holdConnections(proxy.port);
    const rssMb = await proxy.rss();
    for (const socket of held.sockets) socket.destroy();
    results[name] = { mbps, rtt, holdMs: held.ms, rssMb };
  } finally {
    proxy.child.kill();
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}
server.close();
report.direct = direct;
report.proxies = results;

const fmt = (n: number) => n.toFixed(0);
console.log(
  `loopback, ${fmt(GIB / 1024 ** 2)} MiB transfer, ${ROUND_TRIPS} round trips of 64 bytes, ${CONNECTIONS} connections held:`,
);
console.log(
  `  direct       ${fmt(direct.mbps)} MiB/s   rtt p50 ${fmt(direct.rtt.p50)} µs  p99 ${fmt(direct.rtt.p99)} µs`,
);
for (const [name, r] of Object.entries(results)) {
  console.log(
    `  ${name.padEnd(12)} ${fmt(r.mbps)} MiB/s (${ratio(r.mbps, direct.mbps)} direct)   added rtt p50 ${fmt(r.rtt.p50 - direct.rtt.p50)} µs  p99 ${fmt(r.rtt.p99 - direct.rtt.p99)} µs   ` +
      `${CONNECTIONS} conns in ${r.holdMs} ms, RSS ${r.rssMb} MB`,
  );
}
const ours = results['chaos proxy'];
const socat = results.socat;
if (ours && socat) console.log(`  chaos proxy / socat throughput: ${ratio(ours.mbps, socat.mbps)}`);
const out = join(resultsDir(), 'bench', `proxy-${Date.now()}.json`);
await writeFileAtomic(out, `${JSON.stringify(report, null, 2)}\n`);
console.log(`written: ${out}`);
process.exit(0);
