import { handshakeMessageLink, messageAttribute } from '../handshake-finder.ts';
import { numberAttribute, type ToxicType } from '../toxic.ts';

/**
 * Rewrites the 24-bit length a handshake message header declares. Past the receiver's limit
 * (ClientHello 131396 bytes, Certificate 100 KiB by default) OpenSSL fails the handshake with
 * "excessive message size": the field failure, made on purpose.
 */
const tlsLength: ToxicType<{ message: number; length: number }> = {
  type: 'tls_length',
  summary: 'rewrite the declared length of a handshake message (e.g. past 100 KiB)',
  parse: (a) => ({
    message: messageAttribute('tls_length', a),
    length: numberAttribute('tls_length', a, 'length', {
      default: 0xffffff,
      min: 0,
      max: 0xffffff,
      integer: true,
    }),
  }),
  create: ({ message, length }) =>
    handshakeMessageLink(message, async (record, header, out, arrivedAt) => {
      const bytes = Buffer.from(record.bytes);
      bytes.writeUIntBE(length, header.offsetInRecord + 1, 3);
      out.fired('length-rewritten', { from: header.length, to: length });
      await out.push({ data: bytes, arrivedAt });
    }),
};
export default tlsLength;
