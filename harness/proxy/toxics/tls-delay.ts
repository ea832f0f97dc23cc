import { handshakeMessageLink, messageAttribute } from '../handshake-finder.ts';
import { numberAttribute, sleep, type ToxicType } from '../toxic.ts';

/** Holds the record that carries a handshake message back for delay ms. */
const tlsDelay: ToxicType<{ message: number; delay: number }> = {
  type: 'tls_delay',
  summary: 'delay the record of a handshake message by delay ms',
  parse: (a) => ({
    message: messageAttribute('tls_delay', a),
    delay: numberAttribute('tls_delay', a, 'delay', { default: 1000, min: 0, max: 3_600_000 }),
  }),
  create: ({ message, delay }) =>
    handshakeMessageLink(message, async (record, _header, out, arrivedAt) => {
      out.fired('delayed', { delay });
      await sleep(delay);
      await out.push({ data: record.bytes, arrivedAt });
    }),
};
export default tlsDelay;
