import { createPrivateKey, createPublicKey, type webcrypto } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../fs-atomic.ts';
import { type KeySpec, keySpecName, webCryptoAlgorithm } from './key-spec.ts';

export interface KeyPairPem {
  keys: webcrypto.CryptoKeyPair;
  privateKeyPem: string;
}

/**
 * A numbered pool of test keys per key spec on disk, so a 1,000-endpoint stack does not spend
 * minutes in RSA key generation on every run. Safe to reuse: these keys only ever sign test
 * certificates for containers on this machine; certificates are issued fresh each run.
 * Without a directory, keys are generated in memory only.
 */
export class KeyCache {
  readonly directory: string | undefined;
  private readonly memory = new Map<string, Promise<KeyPairPem>>();

  constructor(directory?: string) {
    this.directory = directory;
  }

  /** Key number `index` of this spec: loaded if cached, else generated and cached. */
  key(spec: KeySpec, index: number): Promise<KeyPairPem> {
    const id = `${keySpecName(spec)}/${index}`;
    let pending = this.memory.get(id);
    if (!pending) {
      pending = this.loadOrGenerate(spec, index);
      this.memory.set(id, pending);
    }
    return pending;
  }

  /** A key never cached on disk (a CA key, a key for a fault that must be unique). */
  fresh(spec: KeySpec): Promise<KeyPairPem> {
    return generate(spec);
  }

  private async loadOrGenerate(spec: KeySpec, index: number): Promise<KeyPairPem> {
    const path = this.directory ? join(this.directory, keySpecName(spec), `${index}.pem`) : undefined;
    if (path) {
      const pem = await readFile(path, 'utf8').catch(() => undefined);
      if (pem) return { keys: await importPair(spec, pem), privateKeyPem: pem };
    }
    const generated = await generate(spec);
    if (path) await writeFileAtomic(path, generated.privateKeyPem, 0o600);
    return generated;
  }
}

async function generate(spec: KeySpec): Promise<KeyPairPem> {
  const keys = (await crypto.subtle.generateKey(webCryptoAlgorithm(spec), true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const pkcs8 = Buffer.from(await crypto.subtle.exportKey('pkcs8', keys.privateKey));
  return { keys, privateKeyPem: toPem('PRIVATE KEY', pkcs8) };
}

async function importPair(spec: KeySpec, pem: string): Promise<webcrypto.CryptoKeyPair> {
  const privateKey = createPrivateKey(pem);
  const algorithm = webCryptoAlgorithm(spec);
  return {
    privateKey: privateKey.toCryptoKey(algorithm, true, ['sign']),
    publicKey: createPublicKey(privateKey).toCryptoKey(algorithm, true, ['verify']),
  };
}

export function toPem(label: string, der: Uint8Array): string {
  const base64 = Buffer.from(der).toString('base64');
  return `-----BEGIN ${label}-----\n${base64.replace(/.{64}/g, '$&\n').replace(/\n$/, '')}\n-----END ${label}-----\n`;
}
