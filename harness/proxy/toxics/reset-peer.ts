import { numberAttribute, type ToxicType } from '../toxic.ts';

/** Resets the connection (RST) `timeout` ms after the first data in this direction; 0: at once. */
const resetPeer: ToxicType<{ timeout: number }> = {
  type: 'reset_peer',
  summary: 'reset the connection (TCP RST) timeout ms after the first data',
  parse: (a) => ({ timeout: numberAttribute('reset_peer', a, 'timeout', { default: 0, min: 0 }) }),
  create: ({ timeout }) => {
    let timer: NodeJS.Timeout | undefined;
    return {
      async transform(chunk, out) {
        if (timeout === 0) {
          out.fired('reset', { after: 0 });
          out.reset('reset_peer');
          return;
        }
        timer ??= setTimeout(() => {
          out.fired('reset', { after: timeout });
          out.reset('reset_peer');
        }, timeout);
        await out.push(chunk);
      },
      dispose: () => clearTimeout(timer),
    };
  },
};
export default resetPeer;
