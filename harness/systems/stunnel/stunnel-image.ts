import type Docker from 'dockerode';
import { runOnce } from '../../engine/docker-run.ts';
import { versionLabel } from '../../engine/labels.ts';
import { ErrorCodes, HuntError } from '../../errors.ts';
import type { DebianSuite } from '../../images/debian-base.ts';
import { listLabelledImages } from '../../images/image-listing.ts';
import { buildRecipeImage, untag } from '../../images/recipe-image.ts';
import type { Progress } from '../../progress.ts';
import type { ImageBuild, ImageListing } from '../../seam/target.ts';

/** The label naming the stunnel version an image holds. */
const STUNNEL_VERSION_LABEL = versionLabel('stunnel');

export interface StunnelCatalogueEntry {
  /** stunnel's version as Debian packages it (stunnel4) for this suite. */
  version: string;
  suite: DebianSuite;
}

/** stunnel versions built offline, each from the Debian suite that packages it. */
export const stunnelCatalogue: readonly StunnelCatalogueEntry[] = [
  { version: '5.56', suite: 'bullseye' },
  { version: '5.68', suite: 'bookworm' },
  { version: '5.74', suite: 'trixie' },
];

export const stunnelVersions = stunnelCatalogue.map((entry) => entry.version);

export function stunnelEntry(version: string): StunnelCatalogueEntry {
  const entry = stunnelCatalogue.find((candidate) => candidate.version === version);
  if (entry) return entry;
  throw new HuntError(
    ErrorCodes.VERSION_UNKNOWN,
    `stunnel version "${version}" is not in the catalogue. Known versions: ${stunnelVersions.join(', ')}.`,
    { details: { version, known: stunnelVersions } },
  );
}

/** "stunnel 5.68 on x86_64-pc-linux-gnu platform" (stunnel4 -version, on stderr) -> "5.68". */
export function parseStunnelVersion(output: string): string | undefined {
  return /stunnel (\d+\.\d+)/.exec(output)?.[1];
}

export function stunnelImageTag(version: string): string {
  return `handshake-hunter/stunnel:${version}`;
}

/** What `stunnel4 -version` prints in an image: the first line, the version and OpenSSL's. */
async function probeStunnel(docker: Docker, tag: string) {
  const probe = await runOnce(docker, tag, ['sh', '-c', 'stunnel4 -version 2>&1 | head -n 3']).catch(
    (error: Error) => ({ exitCode: -1, stdout: error.message, stderr: '' }),
  );
  const text = `${probe.stdout}${probe.stderr}`;
  const banner =
    text
      .split('\n')
      .find((line) => /stunnel \d/.test(line))
      ?.trim() ??
    text.split('\n')[0] ??
    '';
  return {
    banner,
    version: parseStunnelVersion(text),
    openssl: /(?:OpenSSL|Compiled\/running with OpenSSL) (\d+\.\d+\.\d+[a-z]?)/.exec(text)?.[1],
  };
}

/** Every stunnel image the harness built, with what its binary reports. */
export function listStunnelImages(docker: Docker): Promise<ImageListing[]> {
  return listLabelledImages(docker, 'stunnel', STUNNEL_VERSION_LABEL, (tag) => probeStunnel(docker, tag));
}

/**
 * handshake-hunter/stunnel:<version>: stunnel4, rsyslog and nginx of one suite (docker/stunnel),
 * unless one with the same inputs is tagged; an image whose stunnel is not the catalogue's is untagged.
 */
export async function buildStunnelImage(
  docker: Docker,
  entry: StunnelCatalogueEntry,
  progress: Progress,
  signal?: AbortSignal,
  options: { noCache?: boolean } = {},
): Promise<ImageBuild> {
  const build = await buildRecipeImage(
    docker,
    {
      name: `stunnel-${entry.version}`,
      folders: ['stunnel', 'shims'],
      dockerfile: 'stunnel/Dockerfile',
      suite: entry.suite,
      tag: stunnelImageTag(entry.version),
      labels: { [STUNNEL_VERSION_LABEL]: entry.version },
    },
    progress,
    signal,
    options,
  );
  if (build.status === 'cached') return { version: entry.version, ...build };
  const found = (await probeStunnel(docker, build.tag)).version;
  if (found !== entry.version) {
    await untag(docker, build.tag);
    throw new HuntError(
      ErrorCodes.IMAGE_BUILD_FAILED,
      `The ${entry.suite} packages installed stunnel ${found ?? '(unknown)'}, not ${entry.version} as the ` +
        `catalogue says; ${build.tag} was removed. The mirror may serve another release: update the catalogue.`,
    );
  }
  return { version: entry.version, ...build };
}

/** A comma-separated --stunnel value, every entry checked before anything is built. */
export function parseStunnelVersions(value: string): StunnelCatalogueEntry[] {
  const versions = value
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
  if (versions.length === 0)
    throw new HuntError(
      ErrorCodes.USAGE,
      `--stunnel needs at least one version, e.g. --stunnel ${stunnelVersions[1]}.`,
    );
  return [...new Set(versions)].map(stunnelEntry);
}
