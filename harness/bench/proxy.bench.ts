/**
 * npm run bench:proxy — loopback direct vs through the chaos proxy (no toxics) vs socat, in one
 * run: throughput of 1 GiB transfers each way (rounds interleaved, medians), added latency p50/p99 of small request/response round
 * trips, and 5,000 concurrent connections held. Each proxy runs in a process of its own.
 * Goals: >= 80% of direct throughput, p99 added latency under 1 ms, ahead of socat.
 * With a latency toxic (downstream, 10 ms and 100 ms): round trips through 10 ms (goal: none
 * under 10 ms, p50 within 0.5 ms of it) and bulk downloads through both, beside direct loopback.
 * The proxy's own CPU (from /proc): per 1,000 sequential 64-byte round trips with no toxic and
 * through the 10 ms toxic, per GiB through it, and 200 connections at once through it (goal: a
 * delayed round trip costs at most about twice an undelayed one: a timer wake, not a spin).
 */
import { type ChildProcess, execSync, fork, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { drainedOrClosed } from '../drained.ts';
import { ensureHostTools } from '../engine/host-tools.ts';
import { writeFileAtomic } from '../fs-atomic.ts';
import { resultsDir } from '../paths.ts';
import { percentile, ratio, summarize } from '../stats.ts';

const GIB = Number(process.env.HH_BENCH_BYTES ?? 1024 ** 3);
const ROUND_TRIPS = 5000;
const ROUNDS = Number(process.env.HH_BENCH_ROUNDS ?? 5);
const CONNECTIONS = Number(process.env.HH_BENCH_CONNECTIONS ?? 5000);

const DOWNLOAD = Buffer.from('download\n');

/**
 * A server that discards uploads, echoes anything shorter than 1 KiB (pings), and answers the
 * word "download" with GIB bytes.
 */
async function target(): Promise<{ server: Server; port: number; received: () => number }> {
  let received = 0;
  const server = createServer((socket) => {
    socket.on('error', () => undefined);
    socket.on('data', (data: Buffer) => {
      if (data.equals(DOWNLOAD)) void send(socket, GIB).then(() => socket.end());
      else {
        received += data.length;
        if (data.length < 1024) socket.write(data);
      }
    });
  });
  server.maxConnections = CONNECTIONS * 2;
  server.listen(0, '127.0.0.1', 4096 * 4);
  await once(server, 'listening');
  return { server, port: (server.address() as { port: number }).port, received: () => received };
}

async function send(socket: Socket, bytes: number): Promise<void> {
  const block = Buffer.alloc(1024 * 1024, 1);
  for (let sent = 0; sent < bytes && !socket.destroyed; sent += block.length) {
    if (!socket.write(block)) await drainedOrClosed(socket);
  }
}

/** MiB/s of GIB bytes sent to the target through `port`. */
async function upload(port: number, sink: () => number): Promise<number> {
  const start = sink();
  const socket = connect({ host: '127.0.0.1', port });
  await once(socket, 'connect');
  const started = performance.now();
  await send(socket, GIB);
  const deadline = performance.now() + 300_000;
  while (sink() - start < GIB) {
    if (performance.now() > deadline)
      throw new Error(`upload through port ${port}: ${sink() - start} of ${GIB} bytes arrived in 300 s`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  const seconds = (performance.now() - started) / 1000;
  socket.destroy();
  return GIB / 1024 ** 2 / seconds;
}

/** MiB/s of GIB bytes sent by the target through `port`. */
async function download(port: number): Promise<number> {
  const socket = connect({ host: '127.0.0.1', port });
  await once(socket, 'connect');
  let got = 0;
  socket.on('data', (data: Buffer) => {
    got += data.length;
  });
  const started = performance.now();
  socket.write(DOWNLOAD);
  await once(socket, 'end', { signal: AbortSignal.timeout(300_000) });
  const seconds = (performance.now() - started) / 1000;
  socket.destroy();
  if (got !== GIB) throw new Error(`download through port ${port}: got ${got} of ${GIB} bytes`);
  return GIB / 1024 ** 2 / seconds;
}

/** Sequential round trips of 64 bytes, `gapMs` apart (0: back to back): each one's time in µs. */
async function roundTrips(port: number, count = ROUND_TRIPS, warmUp = 200, gapMs = 0): Promise<number[]> {
  const socket = connect({ host: '127.0.0.1', port });
  socket.setNoDelay(true);
  await once(socket, 'connect');
  const ping = Buffer.alloc(64, 2);
  const times: number[] = [];
  for (let i = 0; i < count + warmUp; i++) {
    const started = performance.now();
    socket.write(ping);
    let got = 0;
    while (got < ping.length)
      got += ((await once(socket, 'data', { signal: AbortSignal.timeout(10_000) })) as [Buffer])[0].length;
    if (i >= warmUp) times.push((performance.now() - started) * 1000); // µs, after warm-up
    if (gapMs > 0) await new Promise((resolve) => setTimeout(resolve, gapMs));
  }
  socket.destroy();
  return times;
}

/** A process's CPU seconds so far (user + system), from /proc/<pid>/stat. */
const CLOCK_TICKS = Number(execSync('getconf CLK_TCK', { encoding: 'utf8' }).trim()) || 100;
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces): utime is the 14th field, stime the 15th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** What `work` costs the process in CPU seconds, with its result. */
async function cpuOf<T>(pid: number, work: () => Promise<T>): Promise<{ cpu: number; result: T }> {
  const before = await cpuSeconds(pid);
  const result = await work();
  return { cpu: (await cpuSeconds(pid)) - before, result };
}

/** `connections` sockets at once, each doing `count` sequential round trips: every delay, in µs. */
async function concurrentRoundTrips(port: number, connections: number, count: number): Promise<number[]> {
  const all = await Promise.all(Array.from({ length: connections }, () => roundTrips(port, count, 5)));
  return all.flat();
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
        await once(socket, 'data', { signal: AbortSignal.timeout(60_000) });
      }),
    );
  }
  return { ms: Math.round(performance.now() - started), sockets };
}

async function startOurs(
  upstream: number,
  latencyMs?: number,
): Promise<{ port: number; child: ChildProcess; rss: () => Promise<number> }> {
  const args = [`127.0.0.1:${upstream}`, ...(latencyMs === undefined ? [] : [String(latencyMs)])];
  const child = fork(join(import.meta.dirname, 'proxy-child.ts'), args, {
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

/** A port nothing listens on right now (the kernel's choice, so outside the ports in use). */
async function freePort(): Promise<number> {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

async function startSocat(
  upstream: number,
): Promise<{ port: number; child: ChildProcess; rss: () => Promise<number> }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const child = spawn(
      'socat',
      [`TCP-LISTEN:${port},bind=127.0.0.1,fork,reuseaddr,backlog=4096`, `TCP:127.0.0.1:${upstream}`],
      { stdio: 'ignore' },
    );
    try {
      await listening(port);
    } catch (error) {
      child.kill();
      if (attempt === 3) throw error;
      continue; // someone took the port between the probe and socat's bind: another one
    }
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
}

// The reference proxy is socat: installed like the harness's other host tools where it is missing.
await ensureHostTools(['socat'], { step: (text) => console.log(text), detail: () => undefined });
const { server, port: upstream, received } = await target();
type Transfer = { upload: number[]; download: number[] };
const transfers: Record<string, Transfer> = {};
const report: Record<string, unknown> = {
  bytes: GIB,
  rounds: ROUNDS,
  roundTrips: ROUND_TRIPS,
  connections: CONNECTIONS,
};
const proxies: Record<string, Awaited<ReturnType<typeof startOurs>>> = {};
const LATENCIES = [10, 100];
const latencyProxies: Record<number, Awaited<ReturnType<typeof startOurs>>> = {};
const latencyDownloads: Record<number, number[]> = {};
const latencyCpuPerGib: number[] = [];
// Rounds interleave the three paths so that a noisy neighbour on this shared machine hits all
// of them alike; each figure is the median of its rounds.
try {
  proxies['chaos proxy'] = await startOurs(upstream);
  proxies.socat = await startSocat(upstream);
  const ports: Record<string, number> = { direct: upstream };
  for (const [name, proxy] of Object.entries(proxies)) ports[name] = proxy.port;
  for (const ms of LATENCIES) latencyProxies[ms] = await startOurs(upstream, ms);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, port] of Object.entries(ports)) {
      transfers[name] ??= { upload: [], download: [] };
      transfers[name].upload.push(await upload(port, received));
      transfers[name].download.push(await download(port));
    }
    for (const ms of LATENCIES) {
      latencyDownloads[ms] ??= [];
      const proxy = latencyProxies[ms] as { port: number; child: ChildProcess };
      const { cpu, result } = await cpuOf(proxy.child.pid as number, () => download(proxy.port));
      latencyDownloads[ms].push(result);
      if (ms === 10) latencyCpuPerGib.push(cpu / (GIB / 1024 ** 3));
    }
  }
  // Round trips through 10 ms of latency, in µs: none may be under 10,000. The proxy's CPU for
  // the same 1,000 round trips with no toxic and through the toxic, side by side.
  const plainProxy = proxies['chaos proxy'] as { port: number; child: ChildProcess };
  const toxicProxy = latencyProxies[10] as { port: number; child: ChildProcess };
  const plainCpu = await cpuOf(plainProxy.child.pid as number, () => roundTrips(plainProxy.port, 1000));
  // The same round trips 10 ms apart: a proxy that sleeps between them pays a wake-up each time,
  // which is what a latency toxic adds per chunk (one timer), so this is its fair reference.
  const pacedCpu = await cpuOf(plainProxy.child.pid as number, () =>
    roundTrips(plainProxy.port, 1000, 200, 10),
  );
  const directMany = await concurrentRoundTrips(upstream, 200, 50);
  const toxicCpu = await cpuOf(toxicProxy.child.pid as number, () => roundTrips(toxicProxy.port, 1000));
  const latencyRtt = toxicCpu.result;
  const concurrent = await cpuOf(toxicProxy.child.pid as number, () =>
    concurrentRoundTrips(toxicProxy.port, 200, 50),
  );
  const direct = { rtt: summarize(await roundTrips(upstream)) };
  const results: Record<string, { rtt: ReturnType<typeof summarize>; holdMs: number; rssMb: number }> = {};
  for (const [name, proxy] of Object.entries(proxies)) {
    const rtt = summarize(await roundTrips(proxy.port));
    const held = await holdConnections(proxy.port);
    const rssMb = await proxy.rss();
    for (const socket of held.sockets) socket.destroy();
    results[name] = { rtt, holdMs: held.ms, rssMb };
  }
  report.transfers = transfers;
  report.latency = {
    roundTrips10ms: summarize(latencyRtt),
    minimum10ms: Math.min(...latencyRtt),
    downloads: latencyDownloads,
    cpuSecondsPer1000RoundTrips: {
      noToxic: plainCpu.cpu,
      noToxicPaced10ms: pacedCpu.cpu,
      latency10ms: toxicCpu.cpu,
    },
    cpuSecondsPerGib10ms: percentile(latencyCpuPerGib, 50),
    concurrent200: {
      roundTrips: concurrent.result.length,
      cpuSeconds: concurrent.cpu,
      delays: summarize(concurrent.result),
      minimum: Math.min(...concurrent.result),
      directDelays: summarize(directMany),
    },
  };
  report.direct = direct;
  report.proxies = results;

  const fmt = (n: number) => n.toFixed(0);
  const mib = (name: string, way: keyof Transfer) => percentile(transfers[name]?.[way] ?? [], 50);
  console.log(
    `loopback, ${fmt(GIB / 1024 ** 2)} MiB each way x ${ROUNDS} rounds (medians), ${ROUND_TRIPS} round trips of 64 bytes, ${CONNECTIONS} connections held:`,
  );
  console.log(
    `  direct       up ${fmt(mib('direct', 'upload'))} MiB/s  down ${fmt(mib('direct', 'download'))} MiB/s   rtt p50 ${fmt(direct.rtt.p50)} µs  p99 ${fmt(direct.rtt.p99)} µs`,
  );
  for (const [name, r] of Object.entries(results)) {
    const up = mib(name, 'upload');
    const down = mib(name, 'download');
    console.log(
      `  ${name.padEnd(12)} up ${fmt(up)} MiB/s (${ratio(up, mib('direct', 'upload'))} direct)  down ${fmt(down)} MiB/s (${ratio(down, mib('direct', 'download'))} direct)   ` +
        `added rtt p50 ${fmt(r.rtt.p50 - direct.rtt.p50)} µs  p99 ${fmt(r.rtt.p99 - direct.rtt.p99)} µs   ${CONNECTIONS} conns in ${r.holdMs} ms, RSS ${r.rssMb} MB`,
    );
  }
  console.log(
    `  chaos proxy / socat throughput: up ${ratio(mib('chaos proxy', 'upload'), mib('socat', 'upload'))}  down ${ratio(mib('chaos proxy', 'download'), mib('socat', 'download'))}`,
  );
  const rtt = summarize(latencyRtt);
  const ms = (us: number) => (us / 1000).toFixed(2);
  console.log(
    `  latency toxic 10 ms (downstream), 1000 round trips: p0 ${ms(Math.min(...latencyRtt))} ms  p50 ${ms(rtt.p50)} ms  p99 ${ms(rtt.p99)} ms ` +
      `(added over direct loopback: p50 ${ms(rtt.p50 - direct.rtt.p50)} ms, ${((rtt.p50 - direct.rtt.p50) / 1000 - 10).toFixed(2)} ms over 10)`,
  );
  console.log(
    `  proxy CPU per 1,000 sequential 64-byte round trips: no toxic ${plainCpu.cpu.toFixed(2)} s back to back, ${pacedCpu.cpu.toFixed(2)} s 10 ms apart; ` +
      `through 10 ms ${toxicCpu.cpu.toFixed(2)} s (${ratio(toxicCpu.cpu, plainCpu.cpu)} back to back, ${ratio(toxicCpu.cpu, pacedCpu.cpu)} paced); ` +
      `per GiB through 10 ms: ${percentile(latencyCpuPerGib, 50).toFixed(2)} s`,
  );
  const many = summarize(concurrent.result);
  const manyDirect = summarize(directMany);
  console.log(
    `  200 connections x 50 round trips through 10 ms at once: p0 ${ms(Math.min(...concurrent.result))} ms  p50 ${ms(many.p50)} ms  ` +
      `p99 ${ms(many.p99)} ms (direct, the same load: p50 ${ms(manyDirect.p50)} ms, p99 ${ms(manyDirect.p99)} ms; p50 excess over 10 ms and direct: ` +
      `${((many.p50 - manyDirect.p50) / 1000 - 10).toFixed(2)} ms), proxy CPU ${concurrent.cpu.toFixed(2)} s (${((concurrent.cpu / concurrent.result.length) * 1000).toFixed(2)} s per 1,000)`,
  );
  for (const latency of LATENCIES) {
    const down = percentile(latencyDownloads[latency] ?? [], 50);
    console.log(
      `  latency toxic ${String(latency).padStart(3)} ms, bulk down ${fmt(down)} MiB/s (${ratio(down, mib('direct', 'download'))} direct)`,
    );
  }
} finally {
  for (const proxy of [...Object.values(proxies), ...Object.values(latencyProxies)]) proxy.child.kill();
  server.close();
}
const out = join(resultsDir(), 'bench', `proxy-${Date.now()}.json`);
await writeFileAtomic(out, `${JSON.stringify(report, null, 2)}\n`);
console.log(`written: ${out}`);
process.exit(0);
