import { ErrorCodes, HuntError } from '../../../errors.ts';
import type { DebianSuite } from '../../../images/debian-base.ts';

export interface CatalogueEntry {
  /** Icinga 2 version as Debian packages it for this suite. */
  version: string;
  suite: DebianSuite;
  /** The OpenSSL major line the suite ships; it decides which TLS limits apply. */
  openssl: string;
}

/** Icinga 2 versions we build offline, each from the Debian suite that packages it. */
export const catalogue: readonly CatalogueEntry[] = [
  { version: '2.12.3', suite: 'bullseye', openssl: '1.1.1' },
  { version: '2.13.6', suite: 'bookworm', openssl: '3.0' },
  { version: '2.14.6', suite: 'trixie', openssl: '3.5' },
];

export const catalogueVersions = catalogue.map((entry) => entry.version);

export function catalogueEntry(version: string): CatalogueEntry {
  const entry = catalogue.find((candidate) => candidate.version === version);
  if (entry) return entry;
  throw new HuntError(
    ErrorCodes.VERSION_UNKNOWN,
    `Icinga version "${version}" is not in the catalogue. Known versions: ${catalogueVersions.join(', ')}. ` +
      'To test another version, build or pull an image that has it and pass it with --image repo:tag.',
    { details: { version, known: catalogueVersions } },
  );
}

/** Parses a comma-separated --icinga value; every entry is checked before anything is built. */
export function parseVersionList(value: string): CatalogueEntry[] {
  const versions = value
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
  if (versions.length === 0) {
    throw new HuntError(
      ErrorCodes.USAGE,
      `--icinga needs at least one version, e.g. --icinga ${catalogueVersions[0]}.`,
    );
  }
  return [...new Set(versions)].map(catalogueEntry);
}

/**
 * Where the catalogue's images are tagged: handshake-hunter/icinga2 unless HH_IMAGE_REPOSITORY
 * names another repository (a second set beside the usual one, e.g. to test a recipe change).
 */
export function imageRepository(): string {
  return process.env.HH_IMAGE_REPOSITORY || 'handshake-hunter/icinga2';
}

export function imageTag(version: string): string {
  return `${imageRepository()}:${version}`;
}

/**
 * The version out of `icinga2 --version`, e.g. "icinga2 - The Icinga 2 network monitoring
 * daemon (version: r2.13.6-1)" -> "2.13.6". Debian's builds may omit the "r".
 */
export function parseIcingaVersion(output: string): string | undefined {
  return /\(version: v?r?(\d+\.\d+\.\d+)[^)]*\)/.exec(output)?.[1];
}

/** "OpenSSL 3.0.17 1 Jul 2025 (Library: ...)" -> "3.0.17". */
export function parseOpensslVersion(output: string): string | undefined {
  return /OpenSSL (\d+\.\d+\.\d+[a-z]?)/.exec(output)?.[1];
}
