import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { followDockerStream } from '../engine/docker-run.ts';
import { imageLabels, Labels } from '../engine/labels.ts';
import { ErrorCodes, HuntError } from '../errors.ts';
import { makeDirectory } from '../fs-directory.ts';
import { dockerDir, resultsDir } from '../paths.ts';
import type { Progress } from '../progress.ts';
import type { DebianSuite } from './debian-base.ts';
import { ensureDebianBase } from './debian-base.ts';

/**
 * An image recipe under docker/: its Dockerfile and the folders its build context holds (its
 * own, and shared ones such as shims/), built on the harness's Debian base of one suite.
 */
export interface Recipe {
  /** The build log's name under results/.build/: `icinga2-2.13.6`. */
  name: string;
  /** Folders under docker/ that make up the build context: ['icinga2', 'shims']. */
  folders: readonly string[];
  /** The Dockerfile, relative to docker/. */
  dockerfile: string;
  /** The Debian base it builds on (BASE_IMAGE); none for a layer on a user's image. */
  suite: DebianSuite | undefined;
  tag: string;
  /** Labels that say what the image is for (a version label); the harness's own are added. */
  labels: Record<string, string>;
  /** Build arguments besides BASE_IMAGE (not hashed: name what `inputs` identifies). */
  buildArgs?: Record<string, string>;
  /** What else decides the content, hashed with the files (a source commit, a builder image). */
  inputs?: string;
}

export interface RecipeBuild {
  tag: string;
  imageId: string;
  /** 'cached': the inputs were unchanged and nothing was built. */
  status: 'built' | 'cached';
  seconds: number;
}

/** The build context's files, relative to docker/, sorted. */
async function contextFiles(recipe: Recipe, root: string): Promise<string[]> {
  const files: string[] = [];
  for (const folder of recipe.folders)
    for (const name of await readdir(join(root, folder))) files.push(`${folder}/${name}`);
  return files.sort();
}

/** Hash of everything that decides the image's content: context files, suite, base, labels. */
export async function recipeHash(recipe: Recipe, baseImageId: string, root = dockerDir): Promise<string> {
  const hash = createHash('sha256');
  hash.update(`${recipe.suite ?? ''}\0${recipe.dockerfile}\0${baseImageId}\0`);
  hash.update(`${JSON.stringify(imageLabels(recipe.labels))}\0${recipe.inputs ?? ''}\0`);
  for (const file of await contextFiles(recipe, root)) {
    hash.update(`${file}\0`);
    hash.update(await readFile(join(root, file)));
    hash.update('\0');
  }
  return hash.digest('hex').slice(0, 32);
}

/** A recipe with its base image ready and its inputs hashed: `cached` where the tag has them. */
export interface PreparedRecipe {
  base: string | undefined;
  inputs: string;
  cached: RecipeBuild | undefined;
}

/** Makes sure the recipe's Debian base exists and tells whether its tagged image is current. */
export async function prepareRecipe(
  docker: Docker,
  recipe: Recipe,
  progress: Progress,
  signal?: AbortSignal,
): Promise<PreparedRecipe> {
  const base = recipe.suite && (await ensureDebianBase(docker, recipe.suite, progress, signal));
  const baseId = base ? (await docker.getImage(base).inspect()).Id : '';
  const inputs = await recipeHash(recipe, baseId);
  const existing = await docker
    .getImage(recipe.tag)
    .inspect()
    .catch(() => undefined);
  const cached =
    existing?.Config.Labels?.[Labels.INPUTS] === inputs
      ? { tag: recipe.tag, imageId: existing.Id, status: 'cached' as const, seconds: 0 }
      : undefined;
  return { base, inputs, cached };
}

/**
 * Builds a recipe's image unless one with the same input hash is already tagged. Docker tags only
 * a finished build, so a failed or interrupted build leaves the previous image (if any) in place.
 * `noCache` (default: HH_IMAGE_NO_CACHE=1) builds every step again, without the engine's layer
 * cache: the mirror's newest packages, where the inputs hash cannot see a new point release.
 * The caller checks what the image contains (its binary's version).
 */
export async function buildRecipeImage(
  docker: Docker,
  recipe: Recipe,
  progress: Progress,
  signal?: AbortSignal,
  options: { noCache?: boolean } = {},
): Promise<RecipeBuild> {
  const noCache = options.noCache ?? process.env.HH_IMAGE_NO_CACHE === '1';
  const started = performance.now();
  const { base, inputs, cached } = await prepareRecipe(docker, recipe, progress, signal);
  if (!noCache && cached) return { ...cached, seconds: elapsed(started) };

  progress.step(`building ${recipe.tag}${base ? ` on ${base}` : ''}`);
  const logPath = join(resultsDir(), '.build', `${recipe.name}.log`);
  await makeDirectory(join(logPath, '..'));
  const log = createWriteStream(logPath);
  const tail: string[] = [];
  try {
    const stream = await docker.buildImage(
      { context: dockerDir, src: await contextFiles(recipe, dockerDir) },
      {
        t: recipe.tag,
        dockerfile: recipe.dockerfile,
        buildargs: { ...recipe.buildArgs, ...(base ? { BASE_IMAGE: base } : {}) },
        labels: imageLabels({
          ...recipe.labels,
          ...(recipe.suite ? { [Labels.DEBIAN_SUITE]: recipe.suite } : {}),
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
      `Building ${recipe.tag} failed: ${(error as Error).message.trim()}. Last lines:\n  ${tail.slice(-5).join('\n  ')}\n` +
        `Full log: ${logPath}. The previous image (if any) is still tagged.`,
      { cause: error, details: { log: logPath } },
    );
  } finally {
    log.end();
  }
  const imageId = (await docker.getImage(recipe.tag).inspect()).Id;
  return { tag: recipe.tag, imageId, status: 'built', seconds: elapsed(started) };
}

/** Removes a tag whose image turned out wrong (the caller says why). */
export async function untag(docker: Docker, tag: string): Promise<void> {
  await docker
    .getImage(tag)
    .remove({ force: true })
    .catch(() => undefined);
}

/** Seconds since `started` (performance.now()), to a tenth. */
export function elapsed(started: number): number {
  return Math.round((performance.now() - started) / 100) / 10;
}
