import { ErrorCodes, HuntError } from '../errors.ts';
import {
  type HandshakeHeader,
  HandshakeScanner,
  handshakeName,
  parseHandshakeName,
  type TlsRecord,
  TlsRecordReader,
} from './tls-records.ts';
import type { Chunk, LinkOutput, ToxicLink } from './toxic.ts';

/** What a TLS-aware toxic does to the record that carries the message it waits for. */
export type RecordAction = (
  record: TlsRecord,
  header: HandshakeHeader,
  out: LinkOutput,
  arrivedAt: number,
) => Promise<void>;

/** The handshake type of a `message` attribute ("Certificate", "clienthello", ...), with a clear error. */
export function messageAttribute(type: string, attributes: Record<string, unknown>): number {
  const value = attributes.message;
  try {
    return parseHandshakeName(typeof value === 'string' ? value : '');
  } catch (error) {
    throw new HuntError(ErrorCodes.USAGE, `Toxic ${type}: attribute "message": ${(error as Error).message}`);
  }
}

/**
 * A link that reads its direction as TLS records until the named handshake message appears in
 * a plaintext handshake record, acts on that record once, and from then on (or as soon as the
 * stream turns out to be protected or not TLS at all) passes bytes through untouched.
 */
export function handshakeMessageLink(target: number, action: RecordAction): ToxicLink {
  const reader = new TlsRecordReader();
  const scanner = new HandshakeScanner();
  let done = false;
  return {
    async transform(chunk: Chunk, out: LinkOutput) {
      if (done) return out.push(chunk);
      const { records, rest } = reader.push(chunk.data);
      for (const record of records) {
        const header = done ? undefined : scanner.scan(record).find((h) => h.type === target);
        if (header) {
          done = true;
          out.fired('matched', {
            message: handshakeName(header.type),
            declaredLength: header.length,
            recordOffset: record.offset,
          });
          await action(record, header, out, chunk.arrivedAt);
        } else {
          await out.push({ data: record.bytes, arrivedAt: chunk.arrivedAt });
        }
        if (scanner.protected) done = true;
      }
      if (rest.length > 0 || reader.opaque) done = true;
      if (rest.length > 0) await out.push({ data: rest, arrivedAt: chunk.arrivedAt });
      if (done) {
        const pending = reader.drain();
        if (pending.length > 0) await out.push({ data: pending, arrivedAt: chunk.arrivedAt });
      }
    },
    async flush(out) {
      const pending = reader.drain();
      if (pending.length > 0) await out.push({ data: pending, arrivedAt: performance.now() });
    },
  };
}
