import 'reflect-metadata';
import { randomBytes, type webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
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
}

/** A run's CA: signs masters, agents and simulated endpoints, as `icinga2 pki sign-csr` would. */
export class CertificateAuthority {
  readonly certificatePem: string;
  readonly keySpec: KeySpec;
  private readonly certificate: x509.X509Certificate;
  private readonly keys: webcrypto.CryptoKeyPair;
  private readonly keyCache: KeyCache;
  /** Leaves issued per key spec: the n-th leaf of a spec reuses cached key n. */
  private readonly issued = new Map<string, number>();

  private constructor(
    certificate: x509.X509Certificate,
    keys: webcrypto.CryptoKeyPair,
    keySpec: KeySpec,
    keyCache: KeyCache,
  ) {
    this.certificate = certificate;
    this.certificatePem = certificate.toString('pem');
    this.keys = keys;
    this.keySpec = keySpec;
    this.keyCache = keyCache;
  }

  static async create(options: CertificateAuthorityOptions = {}): Promise<CertificateAuthority> {
    const keySpec = options.keySpec ?? RSA_4096;
    const keyCache = options.keyCache ?? new KeyCache();
    // The CA key is fresh every run: a leaked test CA must not verify another run's peers.
    const { keys } = await keyCache.fresh(keySpec);
    const now = Date.now();
    const certificate = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serial(),
      name: `CN=${options.commonName ?? 'Icinga CA'}`,
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
    return new CertificateAuthority(certificate, keys, keySpec, keyCache);
  }

  /** A leaf for an endpoint: CN and SAN DNS are its name, usable as TLS client and server. */
  async issue(name: string, keySpec: KeySpec = RSA_4096): Promise<IssuedCertificate> {
    const specId = JSON.stringify(keySpec);
    const index = this.issued.get(specId) ?? 0;
    this.issued.set(specId, index + 1);
    const { keys, privateKeyPem } = await this.keyCache.key(keySpec, index);
    const certificate = await this.sign(name, keys.publicKey, keySpec);
    return { name, certificatePem: certificate.toString('pem'), privateKeyPem, keySpec };
  }

  /** Signs any public key (a swarm's padding certificates, a wrong-CA fault's peer). */
  async sign(name: string, publicKey: webcrypto.CryptoKey, keySpec: KeySpec): Promise<x509.X509Certificate> {
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
      notAfter: new Date(now + LEAF_VALID_DAYS * DAY_MS),
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

/** A positive 128-bit serial in hex (the top bit cleared so DER needs no sign byte). */
function serial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return bytes.toString('hex');
}
