import { X509Certificate } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { StartedFlightRecorder } from '../../capture/flight-recorder.ts';
import {
  certificateMessageLength,
  type HandshakeSizes,
  handshakeSizes,
} from '../../capture/handshake-sizes.ts';
import { ErrorCodes, HuntError } from '../../errors.ts';
import { API_PORT } from './stack/icinga-config.ts';
import type { StartedIcingaStack } from './stack/icinga-stack.ts';

/** How long the capture gets to write the window's last packets before it is read. */
const FLUSH_MS = 2_000;

/** At most this much of the capture is read for the measures (its end). */
const MEASURE_WINDOW_MS = 30_000;

/** The certificates of a PEM file in the node's certs folder. */
async function certificatesIn(
  stack: StartedIcingaStack,
  node: string,
  name: string,
): Promise<X509Certificate[]> {
  const file = await stack.node(node).exec(['cat', `/var/lib/icinga2/certs/${name}`]);
  const pems = file.output.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (file.exitCode !== 0 || pems.length === 0)
    throw new HuntError(ErrorCodes.STACK_NOT_READY, `Cannot read ${node}'s ${name}: ${file.output.trim()}`);
  return pems.map((pem) => new X509Certificate(pem));
}

/** The leaf, then each issuer found in the bundle, up to a self-signed root (bounded by the bundle). */
export function chainFrom(
  leaf: readonly X509Certificate[],
  bundle: readonly X509Certificate[],
): X509Certificate[] {
  const chain = [...leaf];
  for (let i = 0; i < bundle.length; i++) {
    const last = chain[chain.length - 1] as X509Certificate;
    if (last.issuer === last.subject) break;
    const issuer = bundle.find((candidate) => !chain.includes(candidate) && last.checkIssued(candidate));
    if (!issuer) break;
    chain.push(issuer);
  }
  return chain;
}

/** The measured sizes and what the node's own certificates predict for its Certificate message. */
export interface HandshakeMeasures extends HandshakeSizes {
  node: string;
  /** DER lengths of what the node sends: its certificate file, or the leaf and the chain OpenSSL builds to the root. */
  certificateDer: number[];
  predictedServerCertificate: number;
}

/**
 * The handshake message sizes of every connection to `node` over a window of its capture
 * (decrypted with the run's key logs: TLS 1.3 encrypts the Certificate), recorded as
 * `measure:value` events (the report and `hunt matrix` show them), beside the Certificate length
 * its own certificate file predicts: the check that the capture reads what the node sends.
 */
export async function measureHandshakes(
  stack: StartedIcingaStack,
  recorder: StartedFlightRecorder | undefined,
  options: { node: string; from: number; to: number },
): Promise<HandshakeMeasures> {
  if (!recorder)
    throw new HuntError(
      ErrorCodes.USAGE,
      'Handshake sizes are read from the capture: run without --capture off (and with tcpdump there).',
    );
  // The ring is read from its files: give tcpdump a moment to have written the window's end.
  await sleep(FLUSH_MS);
  // The last seconds hold the last reconnect wave: enough connections, and a bounded read (a whole
  // long storm's payloads would outgrow what tshark's answer may hold).
  const from = Math.max(options.from, options.to - MEASURE_WINDOW_MS);
  const heads = await recorder.handshakeMessages(options.node, { from, to: options.to });
  const sizes = handshakeSizes(heads, API_PORT);
  const own = await certificatesIn(stack, options.node, `${options.node}.crt`);
  // OpenSSL sends what the certificate file holds; a file with the leaf alone it completes from
  // the trust store, up to and with the root (its automatic chain: Icinga sets no chain of its own).
  const sent = own.length > 1 ? own : chainFrom(own, await certificatesIn(stack, options.node, 'ca.crt'));
  const certificateDer = sent.map((certificate) => certificate.raw.length);
  const measures: HandshakeMeasures = {
    node: options.node,
    ...sizes,
    certificateDer,
    predictedServerCertificate: certificateMessageLength(certificateDer, sizes.tls13),
  };
  const record = (name: string, value: number | undefined) => {
    if (value !== undefined)
      stack.history.record('measure', 'value', { name, value, unit: 'bytes', node: options.node });
  };
  record('Certificate sent', measures.serverCertificate);
  record('Certificate predicted', measures.predictedServerCertificate);
  record('Certificate compressed', measures.serverCertificateCompressed);
  record('CertificateRequest', measures.certificateRequest);
  record('client Certificate', measures.clientCertificate);
  record('server flight', measures.serverFlight);
  stack.history.record('measure', 'handshakes', { ...measures });
  return measures;
}
