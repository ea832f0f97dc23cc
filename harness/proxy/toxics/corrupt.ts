import { numberAttribute, type ToxicType } from '../toxic.ts';

/**
 * Flips bytes (XOR 0xff): the byte at stream `offset` (-1: none), and/or each byte with
 * probability `rate`, at most `count` bytes in all (0: no limit).
 */
const corrupt: ToxicType<{ offset: number; rate: number; count: number }> = {
  type: 'corrupt',
  summary: 'flip bytes at offset, or at random with probability rate per byte',
  parse: (a) => ({
    offset: numberAttribute('corrupt', a, 'offset', { default: -1, min: -1, integer: true }),
    rate: numberAttribute('corrupt', a, 'rate', { default: 0, min: 0, max: 1 }),
    count: numberAttribute('corrupt', a, 'count', { default: 0, min: 0, integer: true }),
  }),
  create: ({ offset, rate, count }, { random }) => {
    let position = 0;
    let flipped = 0;
    return {
      async transform(chunk, out) {
        let data = chunk.data;
        const start = position;
        position += data.length;
        const flip = (index: number) => {
          if (count > 0 && flipped >= count) return;
          if (data === chunk.data) data = Buffer.from(chunk.data);
          data[index] = (data[index] as number) ^ 0xff;
          flipped++;
          out.fired('flipped', { offset: start + index });
        };
        if (offset >= start && offset < position) flip(offset - start);
        if (rate > 0) for (let i = 0; i < data.length; i++) if (random() < rate) flip(i);
        await out.push({ data, arrivedAt: chunk.arrivedAt });
      },
    };
  },
};
export default corrupt;
