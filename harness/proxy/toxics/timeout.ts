import { numberAttribute, type ToxicType } from '../toxic.ts';

/**
 * A black hole: no data gets through; after `timeout` ms (from the first data) the connection
 * is closed. 0: it stays open and silent until the toxic is removed.
 */
const timeout: ToxicType<{ timeout: number }> = {
  type: 'timeout',
  summary: 'swallow all data; close the connection after timeout ms (0: never)',
  parse: (a) => ({ timeout: numberAttribute('timeout', a, 'timeout', { default: 0, min: 0 }) }),
  create: ({ timeout: ms }) => {
    let timer: NodeJS.Timeout | undefined;
    let swallowed = 0;
    return {
      transform(chunk, out) {
        swallowed += chunk.data.length;
        if (ms > 0) {
          timer ??= setTimeout(() => {
            out.fired('timed-out', { after: ms, swallowed });
            out.close('timeout');
          }, ms);
        }
      },
      dispose: () => clearTimeout(timer),
    };
  },
};
export default timeout;
