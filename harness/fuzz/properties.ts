/**
 * Properties of the harness's hand-written parsers (netstrings, TLS records, history lines),
 * for fast-check. The unit tests run each a few hundred times; `npm run fuzz` a million times.
 */
import fc from 'fast-check';
import {
  HandshakeScanner,
  MAX_RECORD_FRAGMENT,
  serverNameOf,
  TlsRecordReader,
} from '../proxy/tls-records.ts';
import { parseEvent } from '../run/history-reader.ts';
import { LineSplitter } from '../run/line-splitter.ts';
import { encodeNetstring, NetstringError, NetstringParser } from '../systems/icinga/swarm/netstring.ts';

export interface NamedProperty {
  name: string;
  property: fc.IPropertyWithHooks<unknown> | fc.IProperty<unknown>;
}

/** Chunk sizes to cut a byte stream at: tiny ones (1-4 bytes) as often as big ones. */
const cuts = fc.array(fc.oneof(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 3000 })), {
  minLength: 1,
  maxLength: 40,
});

/** Splits `bytes` at the given sizes (cycling), the way TCP reads would. */
export function split(bytes: Buffer, sizes: readonly number[]): Buffer[] {
  const chunks: Buffer[] = [];
  for (let offset = 0, i = 0; offset < bytes.length; i++) {
    const size = sizes[i % sizes.length] as number;
    chunks.push(bytes.subarray(offset, offset + size));
    offset += size;
  }
  return chunks;
}

/** Bytes that look like framing now and then: digits, ':' and ',' mixed into noise. */
const framingNoise = fc
  .array(fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(...Buffer.from('0123456789:,'))), {
    maxLength: 300,
  })
  .map((bytes) => Buffer.from(bytes));

export const netstringRoundTrip: NamedProperty = {
  name: 'netstring: any split of framed messages yields them back, holding at most one',
  property: fc.property(
    fc.array(fc.uint8Array({ maxLength: 600 }), { maxLength: 8 }),
    cuts,
    (messages, sizes) => {
      const wire = Buffer.concat(messages.map((m) => encodeNetstring(Buffer.from(m))));
      const parser = new NetstringParser(1024);
      const out: Buffer[] = [];
      for (const chunk of split(wire, sizes)) {
        out.push(...parser.push(chunk));
        if (parser.bufferedBytes > 600 + 10) return false;
      }
      return (
        out.length === messages.length &&
        out.every((m, i) => m.equals(Buffer.from(messages[i] as Uint8Array)))
      );
    },
  ),
};

export const netstringGarbage: NamedProperty = {
  name: 'netstring: garbage throws only NetstringError and never grows the buffer past the limit',
  property: fc.property(framingNoise, cuts, (bytes, sizes) => {
    const limit = 4096;
    const parser = new NetstringParser(limit);
    try {
      for (const chunk of split(bytes, sizes)) {
        parser.push(chunk);
        if (parser.bufferedBytes > limit + 10) return false;
      }
    } catch (error) {
      if (!(error instanceof NetstringError)) throw error;
    }
    return true;
  }),
};

/** A well-formed TLS record: content type 20-24, a version, a payload within the fragment limit. */
const tlsRecord = fc
  .record({
    contentType: fc.integer({ min: 20, max: 24 }),
    version: fc.constantFrom(0x0301, 0x0303),
    payload: fc.uint8Array({ maxLength: 1200 }),
  })
  .map(({ contentType, version, payload }) => {
    const header = Buffer.alloc(5);
    header[0] = contentType;
    header.writeUInt16BE(version, 1);
    header.writeUInt16BE(payload.length, 3);
    return Buffer.concat([header, Buffer.from(payload)]);
  });

export const tlsRecordsRoundTrip: NamedProperty = {
  name: 'TLS records: any split of a record stream yields the same records',
  property: fc.property(fc.array(tlsRecord, { maxLength: 8 }), cuts, (records, sizes) => {
    const reader = new TlsRecordReader();
    const out: Buffer[] = [];
    for (const chunk of split(Buffer.concat(records), sizes))
      out.push(...reader.push(chunk).records.map((r) => r.bytes));
    return (
      !reader.opaque && out.length === records.length && out.every((r, i) => r.equals(records[i] as Buffer))
    );
  }),
};

/** Noise that often starts like a handshake record with a small length, so parsing goes deep. */
const recordNoise = fc
  .tuple(fc.uint8Array({ minLength: 1, maxLength: 400 }), fc.boolean(), fc.integer({ min: 0, max: 63 }))
  .map(([bytes, handshake, length]) => {
    const buffer = Buffer.from(bytes);
    if (handshake) buffer[0] = 22;
    if (handshake && buffer.length > 4) buffer.writeUInt16BE(length, 3);
    return buffer;
  });

export const tlsRecordsGarbage: NamedProperty = {
  name: 'TLS records: garbage never throws and never holds more than one record',
  property: fc.property(recordNoise, cuts, (bytes, sizes) => {
    const reader = new TlsRecordReader();
    const scanner = new HandshakeScanner();
    for (const chunk of split(bytes, sizes)) {
      for (const record of reader.push(chunk).records) {
        scanner.scan(record);
        serverNameOf(record);
      }
      if (reader.pendingBytes > MAX_RECORD_FRAGMENT + 5) return false;
    }
    return true;
  }),
};

/** History lines: real events, cut events, JSON that is not an event, and noise. */
const historyLine = fc.oneof(
  fc
    .record({ t: fc.double({ noNaN: true }), at: fc.string(), source: fc.string(), type: fc.string() })
    .map((event) => JSON.stringify(event)),
  fc.json(),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc
    .tuple(fc.record({ t: fc.nat(), at: fc.string(), source: fc.string(), type: fc.string() }), fc.nat())
    .map(([event, cut]) => {
      const text = JSON.stringify(event);
      return text.slice(0, cut % (text.length + 1));
    }),
);

export const historyLines: NamedProperty = {
  name: 'history reader: any line parses to an event with its frame, or to nothing; never throws',
  property: fc.property(historyLine, (line) => {
    const event = parseEvent(line);
    return (
      event === undefined ||
      (typeof event.t === 'number' &&
        typeof event.at === 'string' &&
        typeof event.source === 'string' &&
        typeof event.type === 'string')
    );
  }),
};

export const historySplitting: NamedProperty = {
  name: 'history reader: lines come back whole under any split; overlong ones are dropped, never held',
  property: fc.property(
    fc.array(fc.oneof(fc.string({ maxLength: 60 }), fc.string({ minLength: 100, maxLength: 300 })), {
      maxLength: 12,
    }),
    cuts,
    (lines, sizes) => {
      const max = 80;
      const text = lines.map((line) => line.replaceAll('\n', ' ')).join('\n');
      const splitter = new LineSplitter(max);
      const out: string[] = [];
      for (const chunk of split(Buffer.from(text), sizes)) {
        out.push(...splitter.push(chunk));
        if (splitter.heldBytes > max) return false;
      }
      const last = splitter.end();
      if (last !== undefined) out.push(last);
      // What a reader must return: every line within the limit, and no empty cut after the last newline.
      const segments = text.split('\n');
      const expected = segments.filter(
        (line, i) => Buffer.byteLength(line) <= max && !(i === segments.length - 1 && line.length === 0),
      );
      return JSON.stringify(out) === JSON.stringify(expected);
    },
  ),
};

export const allProperties: readonly NamedProperty[] = [
  netstringRoundTrip,
  netstringGarbage,
  tlsRecordsRoundTrip,
  tlsRecordsGarbage,
  historyLines,
  historySplitting,
];
