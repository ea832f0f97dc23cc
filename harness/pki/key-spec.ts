import type { webcrypto } from 'node:crypto';
import { ErrorCodes, HuntError } from '../errors.ts';

/** Key type and size: a parameter because the field report asked whether 4096-bit keys matter. */
export type KeySpec = { type: 'rsa'; bits: 2048 | 3072 | 4096 } | { type: 'ec'; curve: 'P-256' | 'P-384' };

export const RSA_2048: KeySpec = { type: 'rsa', bits: 2048 };
/** What `icinga2 pki new-cert` makes. */
export const RSA_4096: KeySpec = { type: 'rsa', bits: 4096 };
export const EC_P256: KeySpec = { type: 'ec', curve: 'P-256' };

/** "rsa2048", "rsa4096", "ec-p256" and the like, for CLI flags and cache folders. */
export function keySpecName(spec: KeySpec): string {
  return spec.type === 'rsa' ? `rsa${spec.bits}` : `ec-${spec.curve.toLowerCase().replace('-', '')}`;
}

export function parseKeySpec(value: string): KeySpec {
  const normalized = value.trim().toLowerCase();
  const rsa = /^rsa-?(2048|3072|4096)$/.exec(normalized);
  if (rsa?.[1]) return { type: 'rsa', bits: Number(rsa[1]) as 2048 | 3072 | 4096 };
  const ec = /^(?:ec|ecdsa)-?p-?(256|384)$/.exec(normalized);
  if (ec?.[1]) return { type: 'ec', curve: `P-${ec[1]}` as 'P-256' | 'P-384' };
  throw new HuntError(
    ErrorCodes.USAGE,
    `Unknown key type "${value}". Use rsa2048, rsa3072, rsa4096, ec-p256 or ec-p384.`,
  );
}

/** WebCrypto parameters for generating and signing with this kind of key. */
export function webCryptoAlgorithm(
  spec: KeySpec,
): webcrypto.RsaHashedKeyGenParams | webcrypto.EcKeyGenParams {
  return spec.type === 'rsa'
    ? {
        name: 'RSASSA-PKCS1-v1_5',
        hash: 'SHA-256',
        publicExponent: new Uint8Array([1, 0, 1]),
        modulusLength: spec.bits,
      }
    : { name: 'ECDSA', namedCurve: spec.curve };
}

/** The signature algorithm a CA with this key signs with (SHA-256, as `icinga2 pki sign-csr`). */
export function signingAlgorithm(spec: KeySpec): webcrypto.Algorithm | webcrypto.EcdsaParams {
  return spec.type === 'rsa'
    ? { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }
    : { name: 'ECDSA', hash: 'SHA-256' };
}
