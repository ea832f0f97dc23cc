import type { Chunk, LinkOutput } from '../toxic.ts';
import { numberAttribute, sleepUntil, type ToxicType } from '../toxic.ts';

/**
 * Bytes a latency link may hold per direction of a connection. Bulk data through a latency
 * needs rate x latency bytes in flight (the bandwidth-delay product), so the link buffers instead
 * of holding the pipeline: up to 32 MiB, i.e. 320 MiB/s at 100 ms or 3.2 GiB/s at 10 ms. Past it
 * the reader waits (TCP backpressure), so memory stays bounded per connection.
 */
export const LATENCY_WINDOW_BYTES = 32 * 1024 * 1024;

interface Held {
  chunk: Chunk;
  due: number;
}

/**
 * Delays every chunk by latency ± jitter ms, measured from when it arrived, never less: chunks
 * are held in arrival order and each leaves when its time has come (a later chunk with less
 * jitter waits for the one before it, so the stream stays in order).
 */
const latency: ToxicType<{ latency: number; jitter: number }> = {
  type: 'latency',
  summary: 'delay data by latency ms (± jitter ms)',
  parse: (a) => ({
    latency: numberAttribute('latency', a, 'latency', { default: 0, min: 0, max: 3_600_000 }),
    jitter: numberAttribute('latency', a, 'jitter', { default: 0, min: 0, max: 3_600_000 }),
  }),
  create: ({ latency: delay, jitter }, { random }) => {
    const held: Held[] = [];
    let heldBytes = 0;
    let output: LinkOutput | undefined;
    let pumping: Promise<void> | undefined;
    let disposed = false;
    // Ends the pump's wait at once when the toxic goes: a removed latency leaves no timer behind.
    const stopping = new AbortController();
    /** Resolved whenever the pump hands chunks on: a full window waits on it. */
    let progressed: () => void = () => {};
    const progress = () =>
      new Promise<void>((resolve) => {
        progressed = resolve;
      });

    const pump = async () => {
      while (held.length > 0 && !disposed) {
        const next = held[0] as Held;
        await sleepUntil(next.due, stopping.signal).catch(() => undefined);
        if (disposed) return;
        held.shift();
        heldBytes -= next.chunk.data.length;
        progressed();
        await (output as LinkOutput).push(next.chunk);
      }
    };
    const startPump = () => {
      pumping ??= pump().finally(() => {
        pumping = undefined;
        if (held.length > 0 && !disposed) startPump();
      });
    };

    return {
      async transform(chunk, out) {
        output = out;
        const offset = jitter > 0 ? (random() * 2 - 1) * jitter : 0;
        held.push({ chunk, due: chunk.arrivedAt + Math.max(0, delay + offset) });
        heldBytes += chunk.data.length;
        startPump();
        while (heldBytes > LATENCY_WINDOW_BYTES && !disposed) await progress();
      },
      async flush() {
        while (pumping) await pumping;
      },
      async release() {
        disposed = true;
        stopping.abort();
        progressed();
        for (const { chunk } of held.splice(0)) await output?.push(chunk);
        heldBytes = 0;
      },
      dispose() {
        disposed = true;
        stopping.abort();
        held.length = 0;
        heldBytes = 0;
        progressed();
      },
    };
  },
};
export default latency;
