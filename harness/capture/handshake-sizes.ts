import { percentile } from '../stats.ts';
import type { HandshakeHead } from './handshake-heads.ts';

/** Median handshake message sizes over a capture's connections to one server port (bytes). */
export interface HandshakeSizes {
  /** Connections whose server side sent a Certificate (or CompressedCertificate). */
  connections: number;
  tls13: boolean;
  /** The server's Certificate message body (uncompressed where it came compressed). */
  serverCertificate?: number;
  /** What the compressed Certificate took on the wire, where the peers compress (RFC 8879). */
  serverCertificateCompressed?: number;
  clientCertificate?: number;
  certificateRequest?: number;
  /** Every handshake message the server sent for the handshake, with their 4-byte headers. */
  serverFlight?: number;
}

/** What a server sends in its first flight, either version (each at most once). */
const FLIGHT_TYPES = [
  'ServerHello',
  'EncryptedExtensions',
  'Certificate',
  'CompressedCertificate',
  'ServerKeyExchange',
  'CertificateRequest',
  'ServerHelloDone',
  'CertificateVerify',
];

/**
 * Pure: the handshake heads of a capture (handshake-heads.ts) -> median sizes per message, for
 * the connections to `serverPort`. A message's size is its declared length (the body, without
 * the 4-byte header), what `icinga2` and OpenSSL limit.
 */
export function handshakeSizes(heads: readonly HandshakeHead[], serverPort: number): HandshakeSizes {
  const fromServer = (head: HandshakeHead) => head.from.endsWith(`:${serverPort}`);
  const toServer = (head: HandshakeHead) => head.to.endsWith(`:${serverPort}`);
  const streams = new Map<number, HandshakeHead[]>();
  for (const head of heads) {
    if (!fromServer(head) && !toServer(head)) continue;
    streams.set(head.stream, [...(streams.get(head.stream) ?? []), head]);
  }
  const server: number[] = [];
  const compressed: number[] = [];
  const client: number[] = [];
  const request: number[] = [];
  const flight: number[] = [];
  let tls13 = false;
  let connections = 0;
  for (const messages of streams.values()) {
    const own = messages.filter(fromServer);
    // Per connection: a TLS 1.2 one beside TLS 1.3 ones keeps its own flight.
    const streamTls13 = own.some((m) => m.type === 'EncryptedExtensions');
    if (streamTls13) tls13 = true;
    const certificate = own.find((m) => m.type === 'Certificate' || m.type === 'CompressedCertificate');
    if (!certificate) continue;
    connections++;
    if (certificate.type === 'CompressedCertificate') {
      compressed.push(certificate.declaredLength);
      if (certificate.uncompressedLength !== undefined) server.push(certificate.uncompressedLength);
    } else server.push(certificate.declaredLength);
    const theirs = messages
      .filter(toServer)
      .find((m) => m.type === 'Certificate' || m.type === 'CompressedCertificate');
    if (theirs) client.push(theirs.uncompressedLength ?? theirs.declaredLength);
    const asked = own.find((m) => m.type === 'CertificateRequest');
    if (asked) request.push(asked.declaredLength);
    // The first of each message of the server's first flight. TLS 1.2's Finished comes later and
    // encrypted (its header would read as garbage); TLS 1.3's is part of the flight, decrypted.
    const flightTypes = streamTls13 ? [...FLIGHT_TYPES, 'Finished'] : FLIGHT_TYPES;
    flight.push(
      flightTypes.reduce((sum, type) => {
        const message = own.find((m) => m.type === type);
        return message ? sum + 4 + message.declaredLength : sum;
      }, 0),
    );
  }
  const median = (values: number[]) => (values.length === 0 ? undefined : Math.round(percentile(values, 50)));
  return {
    connections,
    tls13,
    serverCertificate: median(server),
    serverCertificateCompressed: median(compressed),
    clientCertificate: median(client),
    certificateRequest: median(request),
    serverFlight: median(flight),
  };
}

/**
 * What a Certificate message's body must be for these DER certificates (leaf first): TLS 1.2 a
 * 3-byte list length and a 3-byte length per certificate (RFC 5246 7.4.2); TLS 1.3 adds a 1-byte
 * request context and a 2-byte extensions length per entry (RFC 8446 4.4.2).
 */
export function certificateMessageLength(derLengths: readonly number[], tls13: boolean): number {
  const entries = derLengths.reduce((sum, length) => sum + 3 + length + (tls13 ? 2 : 0), 0);
  return (tls13 ? 1 : 0) + 3 + entries;
}
