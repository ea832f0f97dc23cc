import { handshakeMessageLink, messageAttribute } from '../handshake-finder.ts';
import { numberAttribute, type ToxicType } from '../toxic.ts';

/** Cuts the stream inside a handshake message (after keep_bytes of it) and closes the connection. */
const tlsTruncate: ToxicType<{ message: number; keep_bytes: number }> = {
  type: 'tls_truncate',
  summary: 'cut the stream inside a handshake message and close',
  parse: (a) => ({
    message: messageAttribute('tls_truncate', a),
    keep_bytes: numberAttribute('tls_truncate', a, 'keep_bytes', { default: 16, min: 0, integer: true }),
  }),
  create: ({ message, keep_bytes }) =>
    handshakeMessageLink(message, async (record, header, out, arrivedAt) => {
      const cut = Math.min(record.bytes.length, header.offsetInRecord + 4 + keep_bytes);
      await out.push({ data: record.bytes.subarray(0, cut), arrivedAt });
      out.fired('truncated', { keptOfMessage: cut - header.offsetInRecord - 4 });
      out.close('tls_truncate');
    }),
};
export default tlsTruncate;
