import { createHash, randomBytes } from 'node:crypto';
import { Socket } from 'node:net';
import t from 'tap';
import { echoServer, proxyTo, roundTrip } from '../test-kits/proxy.ts';
import { AdaptiveReadBuffer, adoptWithLargeReads, MAX_READ, MIN_READ } from './large-reads.ts';

t.test('full reads grow the buffer 4x up to 1 MiB and are handed on without a copy', async (t) => {
  const reads = new AdaptiveReadBuffer();
  const sizes: number[] = [];
  for (let i = 0; i < 6; i++) {
    const buffer = reads.next();
    sizes.push(buffer.length);
    const chunk = reads.take(buffer.length);
    t.equal(chunk.buffer, buffer.buffer, 'the read buffer itself');
    t.not(reads.next(), buffer, 'the next read gets a new buffer');
  }
  t.same(sizes, [MIN_READ, MIN_READ * 4, MIN_READ * 16, MAX_READ, MAX_READ, MAX_READ]);
});

t.test('small reads are copied out and the buffer is reused; a trickle shrinks it again', async (t) => {
  const reads = new AdaptiveReadBuffer();
  for (let i = 0; i < 3; i++) reads.take(reads.next().length); // grown to 1 MiB
  const big = reads.next();
  t.equal(big.length, MAX_READ);
  big.write('hello');
  const chunk = reads.take(MAX_READ / 4);
  t.not(chunk.buffer, big.buffer, 'a quarter-full read is copied');
  t.equal(chunk.subarray(0, 5).toString(), 'hello');
  t.equal(reads.next(), big, 'and the buffer kept');
  reads.take(100);
  t.equal(reads.next().length, MAX_READ / 4, 'a tiny read shrinks the next buffer');
  for (let i = 0; i < 5; i++) reads.take(100);
  t.equal(reads.next().length, MIN_READ, 'down to the minimum, never below');
});

t.test('a written-out buffer is reused by a later read, once, and only at the current size', async (t) => {
  const reads = new AdaptiveReadBuffer();
  for (let i = 0; i < 3; i++) reads.take(reads.next().length); // grown to 1 MiB
  const first = reads.take(reads.next().length);
  const second = reads.take(reads.next().length);
  reads.recycle(first);
  reads.recycle(first);
  reads.recycle(second);
  const third = reads.take(reads.next().length);
  t.equal(third.buffer, second.buffer, 'the last recycled buffer comes back first');
  t.equal(reads.take(reads.next().length).buffer, first.buffer, 'then the other one');
  reads.recycle(Buffer.alloc(100));
  reads.recycle(third.subarray(10));
  const fresh = reads.next();
  t.equal(fresh.length, MAX_READ);
  t.ok(
    fresh.buffer !== first.buffer && fresh.buffer !== third.buffer,
    'a new buffer: no foreign or partial view taken',
  );
});

t.test('bulk streams through the proxy arrive intact, many connections at once', async (t) => {
  const { address } = await echoServer(t);
  const proxy = await proxyTo(t, address);
  const payloads = Array.from({ length: 8 }, (_, i) =>
    randomBytes(i === 0 ? 24 * 1024 * 1024 : 3 * 1024 * 1024 + i),
  );
  const digest = (data: Buffer) => createHash('sha256').update(data).digest('hex');
  const results = await Promise.all(payloads.map((payload) => roundTrip(proxy.listen, payload)));
  for (const [i, { data }] of results.entries())
    t.equal(
      digest(data),
      digest(payloads[i] as Buffer),
      `connection ${i}: ${data.length} bytes echoed intact`,
    );
});

t.test(
  'a socket without a handle to adopt is used as it is (the pump then reads its data events)',
  async (t) => {
    const socket = new Socket();
    const { socket: same, adopted } = adoptWithLargeReads(socket, () => undefined);
    t.equal(same, socket);
    t.equal(adopted, false);
    socket.destroy();
  },
);
