import { numberAttribute, Pacer, type ToxicType } from '../toxic.ts';

/**
 * Splits data into slices of average_size ± size_variation bytes, delay µs apart (separate TCP
 * segments). The spacing follows the clock, not a timer per slice: below a millisecond, slices
 * go out in batches that keep the average pace (1,000 slices at 10 µs take about 10 ms).
 */
const slicer: ToxicType<{ average_size: number; size_variation: number; delay: number }> = {
  type: 'slicer',
  summary: 'split data into small segments (average_size ± size_variation bytes), delay µs apart',
  parse: (a) => {
    const average = numberAttribute('slicer', a, 'average_size', { default: 1, min: 1, integer: true });
    return {
      average_size: average,
      size_variation: numberAttribute('slicer', a, 'size_variation', {
        default: 0,
        min: 0,
        max: average - 1,
        integer: true,
      }),
      delay: numberAttribute('slicer', a, 'delay', { default: 0, min: 0, max: 10_000_000 }),
    };
  },
  create: ({ average_size, size_variation, delay }, { random }) => ({
    async transform(chunk, out) {
      const pacer = new Pacer();
      let offset = 0;
      while (offset < chunk.data.length) {
        const size = average_size + Math.round((random() * 2 - 1) * size_variation);
        const piece = chunk.data.subarray(offset, offset + Math.max(1, size));
        offset += piece.length;
        await out.push({ data: piece, arrivedAt: chunk.arrivedAt });
        if (offset < chunk.data.length) await pacer.tick(delay / 1000);
      }
      await pacer.settle();
    },
  }),
};
export default slicer;
