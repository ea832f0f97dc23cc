import 'reflect-metadata';
import { randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { ErrorCodes, HuntError } from '../errors.ts';
import { KeyCache } from './key-cache.ts';
import { type KeySpec, RSA_4096, signingAlgorithm } from './key-spec.ts';

const DAY_MS = 86_400_000;

/**
 * Validity periods. Icinga renews a master's certificate that expires within 30 days (and,
 * 2.14.1+, a CA within 397 days) when the master holds the CA key, then rebuilds its TLS
 * context and drops every connection. We never give masters the CA key, and make everything
 * long-lived besides, so no renewal can disturb a run.
 */
export const CA_VALID_DAYS = 15 * 365;
export const LEAF_VALID_DAYS = 5 * 365;

export interface IssuedCertificate {
  /** The certificate's CN: the Endpoint name. */
  name: string;
  certificatePem: string;
  privateKeyPem: string;
  keySpec: KeySpec;
}

export interface CertificateAuthorityOptions {
  /** The CA's own key (Icinga's default is RSA 4096). */
  keySpec?: KeySpec;
  commonName?: string;
  /** Where leaf keys are cached between runs; in memory only when absent. */
  keyCache?: KeyCache;
  /**
   * Intermediate CAs between the root and the leaves (0 to 5, default 0): each leaf's PEM then
   * carries the chain after it (what a node sends in its Certificate message).
   */
  intermediates?: number;
  /**
   * CA certificates in the trust bundle (ca.crt), the root among them (1 to 1,000, default 1):
   * the others are fillers with their own names, as a corporate bundle has. A server sends every
   * name of its bundle in its CertificateRequest.
   */
  trustedCas?: number;
}

export const MAX_INTERMEDIATES = 5;
export const MAX_TRUSTED_CAS = 1_000;

/** A run's CA: signs masters, agents and simulated endpoints, as `icinga2 pki sign-csr` would. */
export class CertificateAuthority {
  /** The root: what verifies every leaf. */
  readonly certificatePem: string;
  /** What a node trusts (its ca.crt): the root, and the fillers when trustedCas > 1. */
  readonly trustBundlePem: string;
  readonly keySpec: KeySpec;
  /** The issuing CA (the last intermediate, or the root) and its key. */
  private readonly certificate: x509.X509Certificate;
  private readonly keys: webcrypto.CryptoKeyPair;
  /** The intermediates' PEMs, the issuing one first: appended to every leaf. */
  private readonly chainPem: string;
  private readonly keyCache: KeyCache;
  /** The root's private key (PEM): handed out only to make a node the CA holder. */
  private readonly rootKeyPem: string;
  private readonly hasIntermediates: boolean;
  /** Leaves issued per key spec: the n-th leaf of a spec reuses cached key n. */
  private readonly issued = new Map<string, number>();

  private constructor(parts: {
    root: x509.X509Certificate;
    issuer: x509.X509Certificate;
    keys: webcrypto.CryptoKeyPair;
    chain: x509.X509Certificate[];
    fillers: x509.X509Certificate[];
    keySpec: KeySpec;
    keyCache: KeyCache;
    rootKeyPem: string;
  }) {
    this.rootKeyPem = parts.rootKeyPem;
    this.hasIntermediates = parts.chain.length > 0;
    this.certificatePem = parts.root.toString('pem');
    this.trustBundlePem = [parts.root, ...parts.fillers].map((c) => `${c.toString('pem')}\n`).join('');
    this.certificate = parts.issuer;
    this.keys = parts.keys;
    this.chainPem = parts.chain.map((c) => `${c.toString('pem')}\n`).join('');
    this.keySpec = parts.keySpec;
    this.keyCache = parts.keyCache;
  }

  static async create(options: CertificateAuthorityOptions = {}): Promise<CertificateAuthority> {
    const keySpec = options.keySpec ?? RSA_4096;
    const intermediates = options.intermediates ?? 0;
    const trustedCas = options.trustedCas ?? 1;
    if (!Number.isInteger(intermediates) || intermediates < 0 || intermediates > MAX_INTERMEDIATES)
      throw new HuntError(
        ErrorCodes.USAGE,
        `Intermediate CAs: 0 to ${MAX_INTERMEDIATES}, not ${intermediates}.`,
      );
    if (!Number.isInteger(trustedCas) || trustedCas < 1 || trustedCas > MAX_TRUSTED_CAS)
      throw new HuntError(
        ErrorCodes.USAGE,
        `CA certificates in the trust bundle: 1 to ${MAX_TRUSTED_CAS}, not ${trustedCas}.`,
      );
    const keyCache = options.keyCache ?? new KeyCache();
    // The CA key is fresh every run: a leaked test CA must not verify another run's peers.
    const { keys, privateKeyPem: rootKeyPem } = await keyCache.fresh(keySpec);
    const now = Date.now();
    const certificate = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serial(),
      name: `CN=${options.commonName ?? 'handshake-hunter CA'}`,
      notBefore: new Date(now - DAY_MS),
      notAfter: new Date(now + CA_VALID_DAYS * DAY_MS),
      keys,
      signingAlgorithm: signingAlgorithm(keySpec),
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    // Each intermediate signed by the one before (the root first); leaves by the last.
    let issuer = certificate;
    let issuerKeys = keys;
    const chain: x509.X509Certificate[] = [];
    for (let level = 1; level <= intermediates; level++) {
      const next = (await keyCache.fresh(keySpec)).keys;
      const intermediate = await x509.X509CertificateGenerator.create({
        serialNumber: serial(),
        subject: `CN=${options.commonName ?? 'handshake-hunter CA'} Intermediate ${level}`,
        issuer: issuer.subject,
        notBefore: new Date(now - DAY_MS),
        notAfter: new Date(now + CA_VALID_DAYS * DAY_MS),
        signingKey: issuerKeys.privateKey,
        publicKey: next.publicKey,
        signingAlgorithm: signingAlgorithm(keySpec),
        extensions: [
          new x509.BasicConstraintsExtension(true, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
          await x509.SubjectKeyIdentifierExtension.create(next.publicKey),
          await x509.AuthorityKeyIdentifierExtension.create(issuerKeys.publicKey),
        ],
      });
      chain.unshift(intermediate);
      issuer = intermediate;
      issuerKeys = next;
    }
    return new CertificateAuthority({
      root: certificate,
      issuer,
      keys: issuerKeys,
      chain,
      fillers: await trustFillers(trustedCas - 1, now),
      keySpec,
      keyCache,
      rootKeyPem,
    });
  }

  /**
   * The CA's certificate and key as Icinga's CA holder keeps them (/var/lib/icinga2/ca/ca.crt and
   * ca.key): for a scenario that drives Icinga's own renewal path (the CA master signs a renewal
   * and sends it back as pki::UpdateCertificate). This run's CA only, to the run's own container.
   */
  holderFiles(): { certificatePem: string; privateKeyPem: string } {
    if (this.hasIntermediates)
      throw new HuntError(
        ErrorCodes.USAGE,
        'A node can hold the CA only when the leaves are signed by the root (no intermediates).',
      );
    return { certificatePem: this.certificatePem, privateKeyPem: this.rootKeyPem };
  }

  /** A leaf for an endpoint: CN and SAN DNS are its name, usable as TLS client and server. */
  async issue(
    name: string,
    keySpec: KeySpec = RSA_4096,
    options: { validDays?: number } = {},
  ): Promise<IssuedCertificate> {
    const specId = JSON.stringify(keySpec);
    const index = this.issued.get(specId) ?? 0;
    this.issued.set(specId, index + 1);
    const { keys, privateKeyPem } = await this.keyCache.key(keySpec, index);
    const certificate = await this.sign(name, keys.publicKey, keySpec, options.validDays);
    return {
      name,
      certificatePem: this.chainPem
        ? `${certificate.toString('pem')}\n${this.chainPem}`
        : certificate.toString('pem'),
      privateKeyPem,
      keySpec,
    };
  }

  /** Signs any public key (a swarm's padding certificates, a wrong-CA fault's peer). */
  async sign(
    name: string,
    publicKey: webcrypto.CryptoKey,
    keySpec: KeySpec,
    validDays = LEAF_VALID_DAYS,
  ): Promise<x509.X509Certificate> {
    const now = Date.now();
    const usages =
      keySpec.type === 'rsa'
        ? x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment
        : x509.KeyUsageFlags.digitalSignature;
    return x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject: `CN=${name}`,
      issuer: this.certificate.subject,
      notBefore: new Date(now - DAY_MS),
      notAfter: new Date(now + validDays * DAY_MS),
      signingKey: this.keys.privateKey,
      publicKey,
      signingAlgorithm: signingAlgorithm(this.keySpec),
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(usages, true),
        new x509.ExtendedKeyUsageExtension([
          x509.ExtendedKeyUsage.serverAuth,
          x509.ExtendedKeyUsage.clientAuth,
        ]),
        new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: name }]),
        await x509.AuthorityKeyIdentifierExtension.create(this.keys.publicKey),
      ],
    });
  }
}

/**
 * Self-signed CA certificates that only fill a trust bundle: one P-256 key for all (their keys
 * sign nothing), each its own name of a corporate bundle's length.
 */
async function trustFillers(count: number, now: number): Promise<x509.X509Certificate[]> {
  if (count === 0) return [];
  const keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const fillers: x509.X509Certificate[] = [];
  for (let n = 1; n <= count; n++)
    fillers.push(
      await x509.X509CertificateGenerator.createSelfSigned({
        serialNumber: serial(),
        name: `C=DE, O=Handshake Hunter, OU=Trust Bundle Filler, CN=Filler Root CA ${String(n).padStart(4, '0')}`,
        notBefore: new Date(now - DAY_MS),
        notAfter: new Date(now + CA_VALID_DAYS * DAY_MS),
        keys,
        signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
        extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
      }),
    );
  return fillers;
}

/** A positive 128-bit serial in hex (the top bit cleared so DER needs no sign byte). */
function serial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return bytes.toString('hex');
}
