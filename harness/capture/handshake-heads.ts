import {
  ContentType,
  type HandshakeHeader,
  HandshakeScanner,
  HandshakeType,
  handshakeName,
  type TlsRecord,
  TlsRecordReader,
} from '../proxy/tls-records.ts';

/**
 * The handshake messages of a capture by their headers, complete or not. A message the peer
 * refused part-way (an oversized Certificate: the master reads its 4-byte header, finds the
 * declared length over its limit, alerts and resets) never crosses the wire whole, so tshark,
 * which shows only reassembled messages, never names it. Its header is in the first record:
 * plaintext in TLS 1.2, and in TLS 1.3 in the record tshark decrypts with the embedded secrets.
 */
export interface HandshakeHead {
  frame: number;
  stream: number;
  from: string;
  to: string;
  type: string;
  declaredLength: number;
  /** CompressedCertificate (RFC 8879): the chain's length once uncompressed, where the record holds it. */
  uncompressedLength?: number;
}

/** One captured TCP segment with payload (tshark: frame.number, tcp.stream, addresses, tcp.payload). */
export interface Segment {
  frame: number;
  stream: number;
  from: string;
  to: string;
  payload: Buffer;
}

/** Record plaintexts tshark decrypted, by frame (tshark -P -x: the "Decrypted TLS" blocks). */
export type Decrypted = Map<number, Buffer[]>;

/** Pure: segments (in frame order) and decrypted record plaintexts -> the handshake heads. */
export function handshakeHeads(segments: Iterable<Segment>, decrypted: Decrypted): HandshakeHead[] {
  const reader = new HandshakeHeadReader(decrypted);
  for (const segment of segments) reader.push(segment);
  return reader.heads;
}

interface Direction {
  reader: TlsRecordReader;
  plain: HandshakeScanner;
  protectedScanner: HandshakeScanner;
  finished: boolean;
}

/**
 * The same, one segment at a time, so a busy window's segments are never all in memory: each
 * direction holds at most one partial record (TlsRecordReader's bound).
 */
export class HandshakeHeadReader {
  readonly heads: HandshakeHead[] = [];
  readonly #directions = new Map<string, Direction>();
  /** Frames whose decrypted records were read (a frame's records are read once, by its first segment). */
  #lastFrame = -1;
  readonly #tls13Streams = new Set<number>();

  readonly #decrypted: Decrypted;

  constructor(decrypted: Decrypted) {
    this.#decrypted = decrypted;
  }

  push(segment: Segment): void {
    const key = `${segment.stream}|${segment.from}`;
    let direction = this.#directions.get(key);
    if (!direction) {
      direction = {
        reader: new TlsRecordReader(),
        plain: new HandshakeScanner(),
        protectedScanner: new HandshakeScanner(),
        finished: false,
      };
      this.#directions.set(key, direction);
    }
    const add = (header: HandshakeHeader, record: TlsRecord) =>
      this.heads.push({
        frame: segment.frame,
        stream: segment.stream,
        from: segment.from,
        to: segment.to,
        type: handshakeName(header.type),
        declaredLength: header.length,
        ...uncompressed(header, record),
      });
    for (const record of direction.reader.push(segment.payload).records) {
      if (record.contentType === ContentType.Handshake) {
        const wasProtected = direction.plain.protected;
        for (const header of direction.plain.scan(record)) add(header, record);
        // Only a TLS 1.3 ServerHello ends a scan on a handshake record: the stream is TLS 1.3.
        if (!wasProtected && direction.plain.protected) this.#tls13Streams.add(segment.stream);
      } else if (
        record.contentType === ContentType.ChangeCipherSpec &&
        !this.#tls13Streams.has(segment.stream)
      )
        // TLS 1.2: the Finished after it is encrypted in a handshake record; reading it as a
        // header made up messages of millions of bytes. In TLS 1.3 a ChangeCipherSpec is only
        // for middleboxes (a client's second ClientHello may follow it in the clear).
        direction.plain.scan(record);
    }
    // TLS 1.3: what tshark decrypted in this frame, as handshake records, until this side's
    // Finished. Segments come in frame order, so a frame seen before is this one again.
    if (segment.frame <= this.#lastFrame) return;
    this.#lastFrame = segment.frame;
    for (const plaintext of this.#decrypted.get(segment.frame) ?? []) {
      if (direction.finished || plaintext.length <= 2) continue; // an alert is 2 bytes
      const record: TlsRecord = {
        contentType: ContentType.Handshake,
        version: 0x0303,
        offset: 0,
        bytes: Buffer.concat([Buffer.alloc(5), plaintext]),
      };
      for (const header of direction.protectedScanner.scan(record)) {
        add(header, record);
        if (header.type === HandshakeType.Finished) direction.finished = true;
      }
    }
  }
}

/**
 * A CompressedCertificate (RFC 8879) says after its header: algorithm (2 bytes), then the chain's
 * uncompressed length (3 bytes); the limit a peer applies is to that one.
 */
function uncompressed(header: HandshakeHeader, record: TlsRecord): { uncompressedLength?: number } {
  if (header.type !== HandshakeType.CompressedCertificate) return {};
  const at = header.offsetInRecord + 4 + 2;
  return at + 3 <= record.bytes.length ? { uncompressedLength: record.bytes.readUIntBE(at, 3) } : {};
}

/** Parses `tshark -P -x` output into the decrypted record plaintexts of each frame. */
export function parseDecrypted(output: string): Decrypted {
  const parser = new DecryptedParser();
  for (const line of output.split('\n')) parser.line(line);
  return parser.end();
}

/**
 * The same, a line at a time (tshark's output is streamed, never held whole). Keeps at most
 * `maxBytes` of plaintext: a window busy with decrypted application data would otherwise be
 * held whole; past the cap, later frames' records go unread and `dropped` counts them.
 */
export class DecryptedParser {
  readonly #byFrame: Decrypted = new Map();
  #frame: number | undefined;
  #block: number[] | undefined;
  #bytes = 0;
  dropped = 0;

  readonly #maxBytes: number;

  constructor(maxBytes = Number.POSITIVE_INFINITY) {
    this.#maxBytes = maxBytes;
  }

  line(line: string): void {
    const summary = /^\s*(\d+)\s+\d+\.\d+\s/.exec(line);
    if (summary) {
      this.#flush();
      this.#frame = Number(summary[1]);
      return;
    }
    if (/^[A-Za-z].*\(\d+ bytes\):$/.test(line)) {
      this.#flush();
      if (line.startsWith('Decrypted TLS')) this.#block = [];
      return;
    }
    const hex = /^[0-9a-f]{4}\s\s((?:[0-9a-f]{2}\s)+)/.exec(line);
    if (hex && this.#block)
      for (const byte of (hex[1] as string).trim().split(/\s+/)) this.#block.push(Number.parseInt(byte, 16));
  }

  end(): Decrypted {
    this.#flush();
    return this.#byFrame;
  }

  #flush(): void {
    const frame = this.#frame;
    const block = this.#block;
    this.#block = undefined;
    if (frame === undefined || !block) return;
    if (this.#bytes + block.length > this.#maxBytes) {
      this.dropped++;
      return;
    }
    this.#bytes += block.length;
    const blocks = this.#byFrame.get(frame);
    if (blocks) blocks.push(Buffer.from(block));
    else this.#byFrame.set(frame, [Buffer.from(block)]);
  }
}
