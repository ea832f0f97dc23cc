import { once } from 'node:events';
import { createServer } from 'node:net';
import t from 'tap';
import { listenOnLoopback } from '../../test-kits/loopback.ts';
import { dial, echoServer, proxyTo } from '../../test-kits/proxy.ts';
import { sleep, sleepUntil } from '../toxic.ts';

// Timing that a hunt relies on: a toxic never acts early, and latency does not cap throughput.
async function pingPongs(port: number, count: number): Promise<number[]> {
  const socket = await dial({ host: '127.0.0.1', port });
  socket.setNoDelay(true);
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    socket.write('x');
    await once(socket, 'data');
    times.push(performance.now() - started);
  }
  socket.destroy();
  return times.sort((a, b) => a - b);
}

t.test(
  'sleepUntil and sleep never return early by the clock, fractions of a millisecond included',
  async (t) => {
    for (const ms of [0.3, 1.5, 2.7, 5.2]) {
      const started = performance.now();
      await sleep(ms);
      t.ok(performance.now() - started >= ms, `sleep(${ms})`);
    }
    const until = performance.now() + 3.4;
    await sleepUntil(until);
    t.ok(performance.now() >= until);
  },
);

t.test('latency delivers no round trip early: 10 ms and 2 ms', async (t) => {
  const { address } = await echoServer(t);
  for (const latency of [10, 2]) {
    const proxy = await proxyTo(t, address, [
      { type: 'latency', stream: 'downstream', attributes: { latency } },
    ]);
    const times = await pingPongs(proxy.listen.port, 60);
    t.ok((times[0] ?? 0) >= latency, `${latency} ms: the fastest of 60 took ${times[0]?.toFixed(2)} ms`);
    t.comment(`${latency} ms: p50 ${times[30]?.toFixed(2)} ms`);
  }
});

t.test('a latency toxic carries bulk data one latency late, not in latency-spaced waves', async (t) => {
  let first = 0;
  let last = 0;
  let received = 0;
  const total = 16 * 1024 * 1024;
  let allIn: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    allIn = resolve;
  });
  const server = createServer((socket) => {
    socket.on('data', (data: Buffer) => {
      if (received === 0) first = performance.now();
      received += data.length;
      last = performance.now();
      if (received >= total) allIn();
    });
  });
  const { port } = await listenOnLoopback(t, server);
  const proxy = await proxyTo(t, { host: '127.0.0.1', port }, [
    { type: 'latency', stream: 'upstream', attributes: { latency: 200 } },
  ]);
  const socket = await dial(proxy.listen);
  const sent = performance.now();
  socket.write(Buffer.alloc(total, 1));
  await done;
  socket.destroy();
  t.ok(first - sent >= 200, `the first byte came after the latency (${Math.round(first - sent)} ms)`);
  // Holding only ~2.7 MiB per latency period, 16 MiB would arrive over 6 periods (1.2 s).
  t.ok(
    last - first < 200,
    `all 16 MiB within one latency period of the first byte (${Math.round(last - first)} ms)`,
  );
});

t.test('the slicer spaces slices below a millisecond by batching: 1,000 slices at 10 µs', async (t) => {
  const server = await echoServer(t, { echo: false });
  const proxy = await proxyTo(t, server.address, [
    { type: 'slicer', stream: 'upstream', attributes: { average_size: 1, delay: 10 } },
  ]);
  const socket = await dial(proxy.listen);
  const started = performance.now();
  socket.write(Buffer.alloc(1000, 65));
  while (Buffer.concat(server.segments).length < 1000 && performance.now() - started < 5000) await sleep(2);
  const ms = performance.now() - started;
  socket.destroy();
  t.equal(Buffer.concat(server.segments).length, 1000);
  t.ok(ms >= 10, `not faster than 1,000 x 10 µs (${ms.toFixed(1)} ms)`);
  t.ok(ms < 300, `and not a timer turn per slice (${ms.toFixed(1)} ms; before: about 1.2 s)`);
});
