/**
 * The TLS record layer, just enough for protocol-aware faults: record headers, and the
 * headers of handshake messages inside plaintext handshake records. TLS 1.2 handshake records
 * are plaintext until ChangeCipherSpec; in TLS 1.3 only ClientHello, ServerHello and
 * HelloRetryRequest are, everything later travels as application_data (type 23) and is opaque.
 */

export const ContentType = { ChangeCipherSpec: 20, Alert: 21, Handshake: 22, ApplicationData: 23 } as const;

export const HandshakeType = {
  HelloRequest: 0,
  ClientHello: 1,
  ServerHello: 2,
  NewSessionTicket: 4,
  EncryptedExtensions: 8,
  Certificate: 11,
  ServerKeyExchange: 12,
  CertificateRequest: 13,
  ServerHelloDone: 14,
  CertificateVerify: 15,
  ClientKeyExchange: 16,
  Finished: 20,
  /** RFC 8879: OpenSSL 3.5 (trixie, Icinga 2.14.6) and Node 24 compress certificate chains. */
  CompressedCertificate: 25,
} as const;

export type HandshakeName = keyof typeof HandshakeType;

export function handshakeName(type: number): string {
  return (
    (Object.entries(HandshakeType).find(([, value]) => value === type)?.[0] as string | undefined) ??
    `type-${type}`
  );
}

export function parseHandshakeName(name: string): number {
  const entry = Object.entries(HandshakeType).find(([key]) => key.toLowerCase() === name.toLowerCase());
  if (!entry)
    throw new Error(`unknown handshake message "${name}"; known: ${Object.keys(HandshakeType).join(', ')}`);
  return entry[1];
}

/** RFC 8446: a record's fragment is at most 2^14 bytes, plus 256 of expansion when protected. */
export const MAX_RECORD_FRAGMENT = 16384 + 2048;

export interface TlsRecord {
  contentType: number;
  /** Legacy record version, e.g. 0x0303. */
  version: number;
  /** Where the record starts in its direction's byte stream. */
  offset: number;
  /** The whole record, header included. */
  bytes: Buffer;
}

/**
 * Splits a byte stream into whole records. Bounded: it never holds more than one record
 * (header + MAX_RECORD_FRAGMENT); a header that cannot be TLS (unknown content type, a
 * fragment above the limit) switches it to `opaque`, after which bytes pass through unparsed.
 */
export class TlsRecordReader {
  private pending: Buffer = Buffer.alloc(0);
  private streamOffset = 0;
  opaque = false;

  /** Whole records in `chunk` (plus what was pending); `rest` is raw bytes once opaque. */
  push(chunk: Buffer): { records: TlsRecord[]; rest: Buffer } {
    if (this.opaque) return { records: [], rest: chunk };
    let data = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    const records: TlsRecord[] = [];
    while (data.length >= 5) {
      const contentType = data[0] as number;
      const length = data.readUInt16BE(3);
      if (contentType < 20 || contentType > 24 || length > MAX_RECORD_FRAGMENT) {
        this.opaque = true;
        this.pending = Buffer.alloc(0);
        return { records, rest: data };
      }
      if (data.length < 5 + length) break;
      records.push({
        contentType,
        version: data.readUInt16BE(1),
        offset: this.streamOffset,
        bytes: data.subarray(0, 5 + length),
      });
      this.streamOffset += 5 + length;
      data = data.subarray(5 + length);
    }
    this.pending = Buffer.from(data);
    return { records, rest: Buffer.alloc(0) };
  }

  /** Bytes held waiting for the rest of a record. */
  get pendingBytes(): number {
    return this.pending.length;
  }

  /** Gives up what is pending (the connection ends or the toxic is done). */
  drain(): Buffer {
    const rest = this.pending;
    this.pending = Buffer.alloc(0);
    return rest;
  }
}

/** A handshake message header found inside a plaintext handshake record. */
export interface HandshakeHeader {
  type: number;
  /** The 24-bit length the header declares. */
  length: number;
  /** Index of the record that holds the header, and the header's position in that record. */
  recordIndex: number;
  offsetInRecord: number;
}

/**
 * Finds handshake message headers across a sequence of handshake records of one direction
 * (messages may span records, and a record may hold several). Stops at ChangeCipherSpec or
 * any non-handshake record: after that the handshake is protected.
 */
export class HandshakeScanner {
  /** Bytes of the current message body still to skip (it continues in later records). */
  private remaining = 0;
  /** A header split across records. */
  private partialHeader: Buffer = Buffer.alloc(0);
  private recordsSeen = 0;
  protected = false;

  scan(record: TlsRecord): HandshakeHeader[] {
    const recordIndex = this.recordsSeen++;
    if (this.protected) return [];
    if (record.contentType !== ContentType.Handshake) {
      if (
        record.contentType === ContentType.ChangeCipherSpec ||
        record.contentType === ContentType.ApplicationData
      ) {
        this.protected = true;
      }
      return [];
    }
    const headers: HandshakeHeader[] = [];
    const body = record.bytes.subarray(5);
    let position = 0;
    while (position < body.length) {
      if (this.remaining > 0) {
        const skip = Math.min(this.remaining, body.length - position);
        this.remaining -= skip;
        position += skip;
        continue;
      }
      const needed = 4 - this.partialHeader.length;
      const piece = body.subarray(position, position + needed);
      const headerStart = position - this.partialHeader.length;
      this.partialHeader = Buffer.concat([this.partialHeader, piece]);
      position += piece.length;
      if (this.partialHeader.length < 4) break;
      const type = this.partialHeader[0] as number;
      const length = this.partialHeader.readUIntBE(1, 3);
      this.partialHeader = Buffer.alloc(0);
      headers.push({ type, length, recordIndex, offsetInRecord: 5 + Math.max(0, headerStart) });
      this.remaining = length;
      // ServerHello of TLS 1.3 is the last plaintext message of that direction.
      if (
        type === HandshakeType.ServerHello &&
        isTls13ServerHello(body.subarray(position, position + length))
      ) {
        this.protected = true;
      }
    }
    return headers;
  }
}

/** TLS 1.3 ServerHello: supported_versions extension (43) selects 0x0304. */
function isTls13ServerHello(body: Buffer): boolean {
  try {
    let p = 2 + 32; // legacy_version, random
    p += 1 + (body[p] as number); // session id
    p += 2 + 1; // cipher suite, compression
    const end = p + 2 + body.readUInt16BE(p);
    p += 2;
    while (p + 4 <= end && p + 4 <= body.length) {
      const type = body.readUInt16BE(p);
      const length = body.readUInt16BE(p + 2);
      if (type === 43 && length === 2) return body.readUInt16BE(p + 4) === 0x0304;
      p += 4 + length;
    }
  } catch {
    // a truncated ServerHello: not TLS 1.3 as far as we can tell
  }
  return false;
}

/** The server name (SNI) in a ClientHello record, where there is one. */
export function serverNameOf(record: TlsRecord): string | undefined {
  try {
    const body = record.bytes.subarray(5);
    if (record.contentType !== ContentType.Handshake || body[0] !== HandshakeType.ClientHello)
      return undefined;
    let p = 4 + 2 + 32;
    p += 1 + (body[p] as number);
    p += 2 + body.readUInt16BE(p);
    p += 1 + (body[p] as number);
    const end = Math.min(body.length, p + 2 + body.readUInt16BE(p));
    p += 2;
    while (p + 4 <= end) {
      const type = body.readUInt16BE(p);
      const length = body.readUInt16BE(p + 2);
      if (type === 0) {
        const nameLength = body.readUInt16BE(p + 4 + 3);
        return body.subarray(p + 4 + 5, p + 4 + 5 + nameLength).toString('ascii');
      }
      p += 4 + length;
    }
  } catch {
    // a ClientHello split across records, or malformed: no name
  }
  return undefined;
}
