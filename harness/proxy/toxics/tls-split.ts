import { handshakeMessageLink, messageAttribute } from '../handshake-finder.ts';
import { numberAttribute, sleep, type ToxicType } from '../toxic.ts';

/** Sends the record that carries a handshake message one byte per TCP segment, delay ms apart. */
const tlsSplit: ToxicType<{ message: number; delay: number }> = {
  type: 'tls_split',
  summary: 'send the record of a handshake message as 1-byte segments',
  parse: (a) => ({
    message: messageAttribute('tls_split', a),
    delay: numberAttribute('tls_split', a, 'delay', { default: 1, min: 0, max: 1000 }),
  }),
  create: ({ message, delay }) =>
    handshakeMessageLink(message, async (record, _header, out, arrivedAt) => {
      out.fired('split', { segments: record.bytes.length });
      for (let i = 0; i < record.bytes.length; i++) {
        await out.push({ data: record.bytes.subarray(i, i + 1), arrivedAt });
        await sleep(delay);
      }
    }),
};
export default tlsSplit;
