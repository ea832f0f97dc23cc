import { once } from 'node:events';
import { createServer } from 'node:net';
import t from 'tap';
import { listenOnLoopback } from '../../test-kits/loopback.ts';
import { dial, echoServer, proxyTo, within } from '../../test-kits/proxy.ts';
import { sleep, sleepUntil } from '../toxic.ts';

// Timing that a hunt relies on: a toxic never acts early, and loses or reorders nothing.
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

// Its throughput (a latency holds no pipeline, no latency-spaced waves) is bench:proxy's to measure.
t.test('a latency toxic carries bulk data at least one latency late, every byte, in order', async (t) => {
  const latency = 200;
  const total = 16 * 1024 * 1024;
  const payload = Buffer.alloc(total);
  for (let i = 0; i < total; i++) payload[i] = i % 251;
  let first = 0;
  let received = 0;
  let firstMismatch: number | undefined;
  let allIn: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    allIn = resolve;
  });
  const server = createServer((socket) => {
    socket.on('data', (data: Buffer) => {
      if (received === 0) first = performance.now();
      if (firstMismatch === undefined && !data.equals(payload.subarray(received, received + data.length)))
        firstMismatch = received;
      received += data.length;
      if (received >= total) allIn();
    });
  });
  const { port } = await listenOnLoopback(t, server);
  const proxy = await proxyTo(t, { host: '127.0.0.1', port }, [
    { type: 'latency', stream: 'upstream', attributes: { latency } },
  ]);
  const socket = await dial(proxy.listen);
  const sent = performance.now();
  socket.write(payload);
  await within('16 MiB at the server', done, 30_000);
  socket.destroy();
  t.ok(first - sent >= latency, `the first byte came after the latency (${Math.round(first - sent)} ms)`);
  t.equal(received, total, 'every byte arrived');
  t.equal(firstMismatch, undefined, 'in order, untouched');
});

t.test(
  'the slicer spaces slices below a millisecond by batching: 1,000 slices at 10 and 100 µs',
  async (t) => {
    const server = await echoServer(t, { echo: false });
    // At 10 µs the proxy's own writes take about as long as the pace; at 100 µs the pace shows.
    for (const [index, delay] of [10, 100].entries()) {
      const proxy = await proxyTo(t, server.address, [
        { type: 'slicer', stream: 'upstream', attributes: { average_size: 1, delay } },
      ]);
      const socket = await dial(proxy.listen);
      const reads = server.segments.length;
      const started = performance.now();
      socket.end(Buffer.alloc(1000, 65));
      await server.ended(index + 1);
      socket.destroy();
      const ms = (server.arrivals.at(-1) ?? Number.NaN) - started;
      t.equal(Buffer.concat(server.segments.slice(reads)).length, 1000, `${delay} µs: every byte`);
      // The pace holds on average: a batch may run up to 1 ms ahead of the schedule (Pacer).
      const paceMs = (999 * delay) / 1000;
      t.ok(
        ms >= paceMs - 1,
        `${delay} µs: the last slice not before ${paceMs} ms less 1 (${ms.toFixed(1)} ms)`,
      );
      // A batch goes out in one turn of the event loop and the server reads it at once; the pacer
      // waits only when a millisecond ahead, so at most about one read per millisecond of pace.
      // A timer per slice (the old way: ~1.2 s) gives a read per slice.
      t.ok(
        server.segments.length - reads <= Math.ceil(paceMs) + 5,
        `${delay} µs: batched, the server read ${server.segments.length - reads} times for 1,000 slices`,
      );
    }
  },
);
