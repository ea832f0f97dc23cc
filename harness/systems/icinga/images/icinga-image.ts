import type Docker from 'dockerode';
import { followDockerStream, runOnce } from '../../../engine/docker-run.ts';
import { Labels, versionLabel } from '../../../engine/labels.ts';
import { ErrorCodes, HuntError } from '../../../errors.ts';
import { debianMirror } from '../../../images/apt-mirror.ts';
import { imageExists } from '../../../images/debian-base.ts';
import { type ImageProbe, listLabelledImages } from '../../../images/image-listing.ts';
import { buildRecipeImage, type Recipe, untag } from '../../../images/recipe-image.ts';
import type { Progress } from '../../../progress.ts';
import type { CheckedImage, ImageBuild, ImageListing } from '../../../seam/target.ts';
import { IcingaErrorCodes } from '../icinga-errors.ts';
import {
  type CatalogueEntry,
  imageRepository,
  imageTag,
  parseIcingaVersion,
  parseOpensslVersion,
} from './catalogue.ts';

/** The label naming the Icinga version an image holds (source builds set it too). */
export const ICINGA_VERSION_LABEL = versionLabel('icinga');

/** The Icinga 2 recipe for a catalogue entry: docker/icinga2 and the shared shims. */
export function icingaRecipe(entry: CatalogueEntry): Recipe {
  return {
    name: `icinga2-${entry.version}`,
    folders: ['icinga2', 'shims'],
    dockerfile: 'icinga2/Dockerfile',
    suite: entry.suite,
    tag: imageTag(entry.version),
    labels: { [ICINGA_VERSION_LABEL]: entry.version },
  };
}

/**
 * Builds handshake-hunter/icinga2:<version> unless an image with the same input hash is
 * already tagged (see buildRecipeImage); an image whose Icinga version is not the catalogue's
 * is untagged.
 */
export async function buildIcingaImage(
  docker: Docker,
  entry: CatalogueEntry,
  progress: Progress,
  signal?: AbortSignal,
  options: { noCache?: boolean } = {},
): Promise<ImageBuild> {
  const build = await buildRecipeImage(docker, icingaRecipe(entry), progress, signal, options);
  if (build.status === 'cached') return { version: entry.version, ...build };
  const probe = await probeImage(docker, build.tag);
  if (probe.version !== entry.version) {
    await untag(docker, build.tag);
    throw new HuntError(
      ErrorCodes.IMAGE_BUILD_FAILED,
      `The ${entry.suite} packages installed Icinga ${probe.version ?? '(unknown)'}, not ${entry.version} ` +
        `as the catalogue says; ${build.tag} was removed. The mirror may serve a newer point release: update the ` +
        'catalogue, or pass the image you want with --image.',
    );
  }
  return { version: entry.version, ...build };
}

/** Runs `icinga2 --version` and `openssl version` inside the image. */
export async function probeImage(docker: Docker, reference: string): Promise<ImageProbe> {
  const result = await runOnce(docker, reference, [
    'sh',
    '-c',
    'icinga2 --version 2>&1 | head -n 1; openssl version 2>/dev/null || true',
  ]).catch((error: Error) => ({ exitCode: -1, stdout: '', stderr: error.message }));
  const banner = result.stdout.split('\n')[0]?.trim() ?? '';
  return { banner, version: parseIcingaVersion(banner), openssl: parseOpensslVersion(result.stdout) };
}

/** What the harness runs in every node, beside icinga2 (docker/icinga2-layer adds what lacks). */
const HARNESS_PARTS =
  'command -v tini && command -v tcpdump && command -v ip && command -v ps && ' +
  'test -x /usr/local/bin/hh-entrypoint && test -f /usr/local/lib/hh-keylog.so && test -f /usr/local/lib/hh-certfault.so';

/**
 * The image a run uses for a user-named one: the image itself where it has the harness's parts
 * (tini, tcpdump, ip, ps, the entry point and shims: the harness's own images do), else a layer
 * on it that adds them, the shims compiled against its own OpenSSL (docker/icinga2-layer). The
 * layer is built once per user image (by its id) and recipe.
 */
export async function withHarnessParts(
  docker: Docker,
  checked: CheckedImage,
  progress: Progress,
  signal?: AbortSignal,
): Promise<string> {
  const parts = await runOnce(docker, checked.reference, ['sh', '-c', HARNESS_PARTS]).catch(() => ({
    exitCode: -1,
  }));
  if (parts.exitCode === 0) return checked.reference;
  const imageId = (await docker.getImage(checked.reference).inspect()).Id;
  const mirror = await debianMirror().catch(() => '');
  const recipe: Recipe = {
    name: `icinga2-layer-${imageId.slice(7, 19)}`,
    folders: ['icinga2-layer', 'icinga2', 'shims'],
    dockerfile: 'icinga2-layer/Dockerfile',
    suite: undefined,
    tag: `${imageRepository()}-layered:${imageId.slice(7, 19)}`,
    labels: {
      [ICINGA_VERSION_LABEL]: checked.version,
      [Labels.BUILT_FROM]: `layer on ${checked.reference}`,
      [Labels.LAYER_OF]: imageId,
    },
    buildArgs: { USER_IMAGE: checked.reference, APT_MIRROR: mirror },
    inputs: imageId,
  };
  progress.step(`${checked.reference} lacks the harness's tools or shims: layering them on (${recipe.tag})`);
  try {
    return (await buildRecipeImage(docker, recipe, progress, signal)).tag;
  } catch (error) {
    signal?.throwIfAborted();
    throw new HuntError(
      ErrorCodes.IMAGE_BUILD_FAILED,
      `${checked.reference} lacks tini, tcpdump or the harness's shims, and layering them on failed: ` +
        `${(error as Error).message.split('\n')[0]} The layer installs with the image's own package manager ` +
        "(apt-get, dnf or apk; a Debian image may use this machine's Debian mirror): add tini, tcpdump, " +
        'iproute2, procps, gcc and the OpenSSL headers to the image, or use a catalogue version.',
      { cause: error },
    );
  }
}

/** Every Icinga image the harness built, with what its binaries report. */
export function listIcingaImages(docker: Docker): Promise<ImageListing[]> {
  return listLabelledImages(docker, 'icinga', ICINGA_VERSION_LABEL, (tag) => probeImage(docker, tag));
}

/**
 * Checks a user-named image: present (or pullable), and running `icinga2 --version` in it
 * reports a version. Its version label (ours or the OCI one), where set, must agree.
 */
export async function resolveUserImage(
  docker: Docker,
  reference: string,
  progress: Progress,
  signal?: AbortSignal,
): Promise<CheckedImage> {
  if (!(await imageExists(docker, reference))) {
    try {
      progress.step(`pulling ${reference}`);
      await followDockerStream(docker, await docker.pull(reference), (line) => progress.detail(line), signal);
    } catch (error) {
      signal?.throwIfAborted();
      throw new HuntError(
        ErrorCodes.IMAGE_NOT_FOUND,
        `Image ${reference} is not in the engine and cannot be pulled (${(error as Error).message.split('\n')[0]}). ` +
          'Check the name, load it with docker load, or use a catalogue version with --icinga.',
      );
    }
  }
  const probe = await probeImage(docker, reference);
  if (probe.version === undefined) {
    throw new HuntError(
      IcingaErrorCodes.IMAGE_NOT_ICINGA,
      `Image ${reference} does not contain a working Icinga 2: running "icinga2 --version" in it printed ` +
        `"${probe.banner || '(nothing)'}". Name an image with the icinga2 binary on PATH, or use --icinga.`,
    );
  }
  const labels = (await docker.getImage(reference).inspect()).Config.Labels ?? {};
  const labelled = labels[ICINGA_VERSION_LABEL] ?? labels['org.opencontainers.image.version'];
  if (labelled !== undefined && parseIcingaVersion(`(version: ${labelled})`) !== probe.version) {
    progress.detail(`note: ${reference} is labelled ${labelled} but its binary reports ${probe.version}`);
  }
  return { reference, version: probe.version, openssl: probe.openssl };
}
