import { numberAttribute, sleep, type ToxicType } from '../toxic.ts';

/** Holds the FIN back for `delay` ms after the sender closed. */
const slowClose: ToxicType<{ delay: number }> = {
  type: 'slow_close',
  summary: 'delay the close (FIN) by delay ms',
  parse: (a) => ({ delay: numberAttribute('slow_close', a, 'delay', { default: 0, min: 0 }) }),
  create: ({ delay }) => ({
    transform: (chunk, out) => out.push(chunk),
    async flush(out) {
      out.fired('close-delayed', { delay });
      await sleep(delay);
    },
  }),
};
export default slowClose;
