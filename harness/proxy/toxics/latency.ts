import { numberAttribute, sleepUntil, type ToxicType } from '../toxic.ts';

/** Delays every chunk by latency ± jitter ms, measured from when it arrived (no pile-up). */
const latency: ToxicType<{ latency: number; jitter: number }> = {
  type: 'latency',
  summary: 'delay data by latency ms (± jitter ms)',
  parse: (a) => ({
    latency: numberAttribute('latency', a, 'latency', { default: 0, min: 0, max: 3_600_000 }),
    jitter: numberAttribute('latency', a, 'jitter', { default: 0, min: 0, max: 3_600_000 }),
  }),
  create: ({ latency: delay, jitter }, { random }) => ({
    async transform(chunk, out) {
      const offset = jitter > 0 ? (random() * 2 - 1) * jitter : 0;
      await sleepUntil(chunk.arrivedAt + Math.max(0, delay + offset));
      await out.push(chunk);
    },
  }),
};
export default latency;
