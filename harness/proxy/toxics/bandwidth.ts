import { numberAttribute, Pacer, type ToxicType } from '../toxic.ts';

/**
 * Limits throughput to `rate` KB/s (KB = 1000 bytes, as Toxiproxy counts), in slices of at most
 * 100 ms worth of data. Each chunk takes its time by the clock (no drift from timer rounding):
 * a slice leaves when the bytes before it have had theirs.
 */
const bandwidth: ToxicType<{ rate: number }> = {
  type: 'bandwidth',
  summary: 'limit throughput to rate KB/s (1 KB = 1000 bytes)',
  parse: (a) => ({ rate: numberAttribute('bandwidth', a, 'rate', { default: 0, min: 0 }) }),
  create: ({ rate }) => ({
    async transform(chunk, out) {
      if (rate === 0) return out.push(chunk);
      const bytesPerMs = rate; // rate KB/s = rate * 1000 bytes per 1000 ms
      const pacer = new Pacer();
      const slice = Math.max(1, Math.floor(bytesPerMs * 100));
      for (let offset = 0; offset < chunk.data.length; offset += slice) {
        const piece = chunk.data.subarray(offset, offset + slice);
        await out.push({ data: piece, arrivedAt: chunk.arrivedAt });
        await pacer.tick(piece.length / bytesPerMs);
      }
      await pacer.settle();
    },
  }),
};
export default bandwidth;
