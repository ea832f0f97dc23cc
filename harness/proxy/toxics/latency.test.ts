import t from 'tap';
import { echoServer, proxyTo, roundTrip } from '../../test-kits/proxy.ts';

t.test('latency delays data by its value ± jitter: never earlier than latency - jitter', async (t) => {
  const { address } = await echoServer(t);
  const latency = 150;
  const jitter = 20;
  const proxy = await proxyTo(t, address, [
    { type: 'latency', stream: 'downstream', attributes: { latency, jitter } },
  ]);
  // One connection each: every one draws its own jitter from the seed.
  const samples: number[] = [];
  for (let i = 0; i < 6; i++) {
    const { data, firstByteMs = Number.NaN } = await roundTrip(proxy.listen, 'ping');
    t.equal(data.toString(), 'ping', 'data intact');
    samples.push(firstByteMs);
  }
  const shown = samples.map(Math.round).join(', ');
  // Measured from the send, so the echo's own path only adds: the bound is exact.
  t.ok(Math.min(...samples) >= latency - jitter, `no first byte before ${latency - jitter} ms (${shown})`);
  // Loose: a busy machine only adds delay; this catches a wrong unit or a stream held for good.
  t.ok(
    Math.max(...samples) < latency + jitter + 1_000,
    `every first byte within a second of ${latency + jitter} ms`,
  );
});
