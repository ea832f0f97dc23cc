import { numberAttribute, type ToxicType } from '../toxic.ts';

/**
 * Resets the connection (TCP RST) `timeout` ms after the first data in this direction (0: at
 * once). As in Toxiproxy, the data is not delivered: the first chunk is swallowed and what
 * follows is held until the reset, so the peer sees nothing but the RST.
 */
const resetPeer: ToxicType<{ timeout: number }> = {
  type: 'reset_peer',
  summary: 'reset the connection (TCP RST) timeout ms after the first data, delivering none of it',
  parse: (a) => ({ timeout: numberAttribute('reset_peer', a, 'timeout', { default: 0, min: 0 }) }),
  create: ({ timeout }) => {
    let timer: NodeJS.Timeout | undefined;
    return {
      transform(_chunk, out) {
        if (timeout === 0) {
          out.fired('reset', { after: 0 });
          out.reset('reset_peer');
          return;
        }
        timer ??= setTimeout(() => {
          out.fired('reset', { after: timeout });
          out.reset('reset_peer');
        }, timeout);
      },
      dispose: () => clearTimeout(timer),
    };
  },
};
export default resetPeer;
