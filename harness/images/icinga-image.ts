import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { followDockerStream, runOnce } from '../engine/docker-run.ts';
import { imageLabels, Labels } from '../engine/labels.ts';
import { ErrorCodes, HuntError } from '../errors.ts';
import { makeDirectory } from '../fs-directory.ts';
import { dockerDir, resultsDir } from '../paths.ts';
import type { Progress } from '../progress.ts';
import { type CatalogueEntry, imageTag, parseIcingaVersion, parseOpensslVersion } from './catalogue.ts';
import { ensureDebianBase, imageExists } from './debian-base.ts';

const RECIPE_DIR = join(dockerDir, 'icinga2');

export interface BuildOutcome {
  version: string;
  tag: string;
  imageId: string;
  /** 'cached': the inputs were unchanged and nothing was built. */
  status: 'built' | 'cached';
  seconds: number;
}

/** Hash of everything that decides the image's content: recipe files, suite, version, base, labels. */
export async function recipeHash(
  entry: CatalogueEntry,
  baseImageId: string,
  recipeDir = RECIPE_DIR,
): Promise<string> {
  const hash = createHash('sha256');
  hash.update(`${entry.version}\0${entry.suite}\0${baseImageId}\0`);
  hash.update(`${JSON.stringify(imageLabels())}\0`);
  for (const name of (await readdir(recipeDir)).sort()) {
    hash.update(`${name}\0`);
    hash.update(await readFile(join(recipeDir, name)));
    hash.update('\0');
  }
  return hash.digest('hex').slice(0, 32);
}

/**
 * Builds handshake-hunter/icinga2:<version> unless an image with the same input hash is
 * already tagged. Docker tags only a finished build, so a failed build leaves the previous
 * image (if any) in place; an image whose Icinga version is not the catalogue's is untagged.
 * `noCache` (default: HH_IMAGE_NO_CACHE=1) builds every step again, without the engine's layer
 * cache: the mirror's newest packages, where the inputs hash cannot see a new point release.
 */
export async function buildIcingaImage(
  docker: Docker,
  entry: CatalogueEntry,
  progress: Progress,
  signal?: AbortSignal,
  options: { noCache?: boolean } = {},
): Promise<BuildOutcome> {
  const noCache = options.noCache ?? process.env.HH_IMAGE_NO_CACHE === '1';
  const started = performance.now();
  const tag = imageTag(entry.version);
  const base = await ensureDebianBase(docker, entry.suite, progress, signal);
  const baseId = (await docker.getImage(base).inspect()).Id;
  const inputs = await recipeHash(entry, baseId);
  const existing = await docker
    .getImage(tag)
    .inspect()
    .catch(() => undefined);
  if (!noCache && existing?.Config.Labels?.[Labels.INPUTS] === inputs) {
    return { version: entry.version, tag, imageId: existing.Id, status: 'cached', seconds: elapsed(started) };
  }

  progress.step(`building ${tag} on ${base}`);
  const logPath = join(resultsDir(), '.build', `icinga2-${entry.version}.log`);
  await makeDirectory(join(logPath, '..'));
  const log = createWriteStream(logPath);
  const tail: string[] = [];
  try {
    const stream = await docker.buildImage(
      { context: RECIPE_DIR, src: await readdir(RECIPE_DIR) },
      {
        t: tag,
        buildargs: { BASE_IMAGE: base },
        labels: imageLabels({
          [Labels.ICINGA_VERSION]: entry.version,
          [Labels.DEBIAN_SUITE]: entry.suite,
          [Labels.INPUTS]: inputs,
        }),
        rm: true,
        forcerm: true,
        nocache: noCache,
      },
    );
    await followDockerStream(
      docker,
      stream,
      (line) => {
        log.write(`${line}\n`);
        tail.push(line);
        if (tail.length > 20) tail.shift();
        if (/^Step \d+\/\d+/.test(line)) progress.detail(line);
      },
      signal,
    );
  } catch (error) {
    // Interrupted: the engine cancelled the build when the connection closed; nothing was tagged.
    signal?.throwIfAborted();
    throw new HuntError(
      ErrorCodes.IMAGE_BUILD_FAILED,
      `Building ${tag} failed: ${(error as Error).message.trim()}. Last lines:\n  ${tail.slice(-5).join('\n  ')}\n` +
        `Full log: ${logPath}. The previous image (if any) is still tagged.`,
      { cause: error, details: { log: logPath } },
    );
  } finally {
    log.end();
  }

  const probe = await probeImage(docker, tag);
  if (probe.icingaVersion !== entry.version) {
    await docker
      .getImage(tag)
      .remove({ force: true })
      .catch(() => undefined);
    throw new HuntError(
      ErrorCodes.IMAGE_BUILD_FAILED,
      `The ${entry.suite} packages installed Icinga ${probe.icingaVersion ?? '(unknown)'}, not ${entry.version} ` +
        `as the catalogue says; ${tag} was removed. The mirror may serve a newer point release: update the ` +
        'catalogue, or pass the image you want with --image.',
    );
  }
  const imageId = (await docker.getImage(tag).inspect()).Id;
  return { version: entry.version, tag, imageId, status: 'built', seconds: elapsed(started) };
}

export interface ImageProbe {
  /** The first line `icinga2 --version` printed. */
  icingaBanner: string;
  icingaVersion: string | undefined;
  opensslVersion: string | undefined;
}

/** Runs `icinga2 --version` and `openssl version` inside the image. */
export async function probeImage(docker: Docker, reference: string): Promise<ImageProbe> {
  const result = await runOnce(docker, reference, [
    'sh',
    '-c',
    'icinga2 --version 2>&1 | head -n 1; openssl version 2>/dev/null || true',
  ]).catch((error: Error) => ({ exitCode: -1, stdout: '', stderr: error.message }));
  const lines = result.stdout.split('\n');
  const banner = lines[0]?.trim() ?? '';
  return {
    icingaBanner: banner,
    icingaVersion: parseIcingaVersion(banner),
    opensslVersion: parseOpensslVersion(result.stdout),
  };
}

export interface ImageSummary extends ImageProbe {
  tag: string;
  imageId: string;
  sizeBytes: number;
  created: string;
  catalogueVersion: string | undefined;
}

/** Every image the harness built, with what its binaries report. */
export async function listIcingaImages(docker: Docker): Promise<ImageSummary[]> {
  const images = await docker.listImages({
    filters: JSON.stringify({ label: [`${Labels.ICINGA_VERSION}`] }),
  });
  const summaries: ImageSummary[] = [];
  for (const info of images) {
    const tag = info.RepoTags?.find((candidate) => candidate !== '<none>:<none>');
    if (!tag) continue;
    summaries.push({
      tag,
      imageId: info.Id,
      sizeBytes: info.Size,
      created: new Date(info.Created * 1000).toISOString(),
      catalogueVersion: info.Labels?.[Labels.ICINGA_VERSION],
      ...(await probeImage(docker, tag)),
    });
  }
  return summaries.sort((a, b) => a.tag.localeCompare(b.tag, 'en', { numeric: true }));
}

export interface ResolvedImage {
  reference: string;
  icingaVersion: string;
  opensslVersion: string | undefined;
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
): Promise<ResolvedImage> {
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
  if (probe.icingaVersion === undefined) {
    throw new HuntError(
      ErrorCodes.IMAGE_NOT_ICINGA,
      `Image ${reference} does not contain a working Icinga 2: running "icinga2 --version" in it printed ` +
        `"${probe.icingaBanner || '(nothing)'}". Name an image with the icinga2 binary on PATH, or use --icinga.`,
    );
  }
  const labels = (await docker.getImage(reference).inspect()).Config.Labels ?? {};
  const labelled = labels[Labels.ICINGA_VERSION] ?? labels['org.opencontainers.image.version'];
  if (labelled !== undefined && parseIcingaVersion(`(version: ${labelled})`) !== probe.icingaVersion) {
    progress.detail(
      `note: ${reference} is labelled ${labelled} but its binary reports ${probe.icingaVersion}`,
    );
  }
  return { reference, icingaVersion: probe.icingaVersion, opensslVersion: probe.opensslVersion };
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) / 100) / 10;
}
