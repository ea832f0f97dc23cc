import { numberAttribute, type ToxicType } from '../toxic.ts';

/** Lets `bytes` through in this direction, then closes the connection (a truncated stream). */
const limitData: ToxicType<{ bytes: number }> = {
  type: 'limit_data',
  summary: 'close the connection after bytes bytes in this direction',
  parse: (a) => ({ bytes: numberAttribute('limit_data', a, 'bytes', { default: 0, min: 0, integer: true }) }),
  create: ({ bytes }) => {
    let passed = 0;
    return {
      async transform(chunk, out) {
        const allowed = bytes - passed;
        if (allowed > 0) {
          const piece = chunk.data.subarray(0, allowed);
          passed += piece.length;
          await out.push({ data: piece, arrivedAt: chunk.arrivedAt });
        }
        if (passed >= bytes) {
          out.fired('truncated', { bytes: passed });
          out.close(`limit_data: ${bytes} bytes passed`);
        }
      },
    };
  },
};
export default limitData;
