import { numberAttribute, sleep, type ToxicType } from '../toxic.ts';

/** Limits throughput to `rate` KB/s, in slices of at most 100 ms worth of data. */
const bandwidth: ToxicType<{ rate: number }> = {
  type: 'bandwidth',
  summary: 'limit throughput to rate KB/s',
  parse: (a) => ({ rate: numberAttribute('bandwidth', a, 'rate', { default: 0, min: 0 }) }),
  create: ({ rate }) => ({
    async transform(chunk, out) {
      if (rate === 0) return out.push(chunk);
      const bytesPerMs = (rate * 1024) / 1000;
      const slice = Math.max(1, Math.floor(bytesPerMs * 100));
      for (let offset = 0; offset < chunk.data.length; offset += slice) {
        const piece = chunk.data.subarray(offset, offset + slice);
        await out.push({ data: piece, arrivedAt: chunk.arrivedAt });
        await sleep(piece.length / bytesPerMs);
      }
    },
  }),
};
export default bandwidth;
