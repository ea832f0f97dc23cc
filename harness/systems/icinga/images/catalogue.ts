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

/** The oldest release the source recipe builds: the first with a worker process per reload. */
const OLDEST_SOURCE = [2, 11, 0] as const;

/**
 * A release built from Icinga's source (any tag from 2.11 on), on the suite whose compiler,
 * Boost and OpenSSL fit it: the suite that packages that release line, trixie from 2.14.
 */
export function sourceEntry(version: string): CatalogueEntry {
  const parts = /^v?(\d+)\.(\d+)\.(\d+)$/.exec(version.trim())?.slice(1).map(Number);
  if (parts === undefined || compareVersions(parts, OLDEST_SOURCE) < 0)
    throw new HuntError(
      ErrorCodes.VERSION_UNKNOWN,
      `Icinga version "${version}" is neither in the catalogue (Debian's packages: ${catalogueVersions.join(', ')}) ` +
        `nor a release from ${OLDEST_SOURCE.join('.')} on, which hunt images build --icinga <version> --source DIR ` +
        'compiles from source. To test another build, pass its image with --image repo:tag.',
      { details: { version, known: catalogueVersions } },
    );
  // The suite of the newest catalogue line not after this one (the oldest line's for older ones).
  const line = (numbers: readonly number[]) => (numbers[0] ?? 0) * 100 + (numbers[1] ?? 0);
  const fitting =
    catalogue.filter((entry) => line(entry.version.split('.').map(Number)) <= line(parts)).at(-1) ??
    (catalogue[0] as CatalogueEntry);
  return { version: parts.join('.'), suite: fitting.suite, openssl: fitting.openssl };
}

/**
 * The catalogue's entry where Debian packages the version, else the source recipe's: a version
 * the catalogue lacks runs from an image built with `hunt images build --icinga V --source DIR`.
 */
export function versionEntry(version: string): CatalogueEntry & { from: 'package' | 'source' } {
  const plain = version.trim().replace(/^v/, '');
  const packaged = catalogue.find((candidate) => candidate.version === plain);
  return packaged ? { ...packaged, from: 'package' } : { ...sourceEntry(version), from: 'source' };
}

function compareVersions(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) - (b[i] ?? 0);
  return 0;
}

/** Parses a comma-separated --icinga value; every entry is checked before anything is built. */
export function parseVersionList(value: string): Array<CatalogueEntry & { from: 'package' | 'source' }> {
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
  return [...new Set(versions)].map(versionEntry);
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
