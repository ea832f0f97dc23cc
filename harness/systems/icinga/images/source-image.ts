import { createWriteStream } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type Docker from 'dockerode';
import { harnessLabels, imageLabels, Labels } from '../../../engine/labels.ts';
import { ErrorCodes, HuntError } from '../../../errors.ts';
import { makeDirectory } from '../../../fs-directory.ts';
import type { DebianSuite } from '../../../images/debian-base.ts';
import {
  buildRecipeImage,
  elapsed,
  prepareRecipe,
  type Recipe,
  untag,
} from '../../../images/recipe-image.ts';
import { resultsDir } from '../../../paths.ts';
import type { Progress } from '../../../progress.ts';
import type { ImageBuild } from '../../../seam/target.ts';
import { type CatalogueEntry, imageRepository, imageTag } from './catalogue.ts';
import { ICINGA_VERSION_LABEL, probeImage } from './icinga-image.ts';
import { findIcingaSource, type IcingaSource } from './icinga-source.ts';

/** The compiler image of a suite: Debian's build dependencies of icinga2, and ccache. */
export function builderRecipe(suite: DebianSuite): Recipe {
  return {
    name: `icinga2-builder-${suite}`,
    folders: ['icinga2-source'],
    dockerfile: 'icinga2-source/Dockerfile.builder',
    suite,
    tag: `${imageRepository()}-builder:${suite}`,
    labels: {},
  };
}

/** The runtime image of a version compiled from `source`, whose tree COMPILED_IMAGE holds. */
export function sourceRecipe(entry: CatalogueEntry, source: IcingaSource, builderId: string): Recipe {
  return {
    name: `icinga2-${entry.version}`,
    folders: ['icinga2-source', 'icinga2', 'shims'],
    dockerfile: 'icinga2-source/Dockerfile',
    suite: entry.suite,
    tag: imageTag(entry.version),
    labels: { [ICINGA_VERSION_LABEL]: entry.version, [Labels.BUILT_FROM]: `source ${source.id}` },
    inputs: `${source.id}\0${builderId}`,
  };
}

const COMPILER_CACHE_PREFIX = 'handshake-hunter-ccache-';

/** The compiler cache of a suite: a volume that outlives builds (freed by `hunt clean --all`). */
export function compilerCacheVolume(suite: DebianSuite): string {
  return `${COMPILER_CACHE_PREFIX}${suite}`;
}

/**
 * Builds handshake-hunter/icinga2:<version> from Icinga's source in `sourceDir`: the builder
 * image of the version's suite, a compile in a container of it (ccache in a volume, so the next
 * version compiles only what changed), then the runtime image with the same shims and entry
 * point as the package-built ones. Reused when the source commit and recipe are unchanged. An
 * interrupt kills the compile within seconds and tags nothing.
 */
export async function buildIcingaFromSource(
  docker: Docker,
  entry: CatalogueEntry,
  sourceDir: string,
  progress: Progress,
  signal?: AbortSignal,
  options: { noCache?: boolean } = {},
): Promise<ImageBuild> {
  const started = performance.now();
  const source = await findIcingaSource(sourceDir, entry.version);
  const builder = await buildRecipeImage(docker, builderRecipe(entry.suite), progress, signal);
  const recipe = sourceRecipe(entry, source, builder.imageId);
  const builtFrom = `source ${source.id}`;
  const prepared = await prepareRecipe(docker, recipe, progress, signal);
  if (prepared.cached && !options.noCache)
    return { version: entry.version, ...prepared.cached, seconds: elapsed(started), builtFrom };

  const compiledTag = `${imageRepository()}-compiled:${entry.version}`;
  const compile = await compileInContainer(docker, builder.tag, entry, source, compiledTag, progress, signal);
  try {
    const build = await buildRecipeImage(
      docker,
      { ...recipe, buildArgs: { COMPILED_IMAGE: compiledTag } },
      progress,
      signal,
      options,
    );
    const probe = await probeImage(docker, build.tag);
    if (probe.version !== entry.version) {
      await untag(docker, build.tag);
      throw new HuntError(
        ErrorCodes.IMAGE_BUILD_FAILED,
        `The source of ${entry.version} (${source.id}) built an icinga2 that reports ${probe.version ?? '(nothing)'}: ` +
          `"${probe.banner}". ${build.tag} was removed; check the tag in ${sourceDir}.`,
      );
    }
    return { version: entry.version, ...build, seconds: elapsed(started), builtFrom, compile };
  } finally {
    await untag(docker, compiledTag);
  }
}

/** The compile step's figures, read off hh-compile's output. */
interface CompileFigures {
  seconds: number;
  cacheHits: number;
  cacheMisses: number;
}

/**
 * Runs hh-compile in a labelled container of the builder with the source copied in and the
 * compiler cache mounted, then commits the container (its /out) as `compiledTag`. Progress:
 * make's percentage, every 10 %. The full output goes to results/.build/.
 */
async function compileInContainer(
  docker: Docker,
  builderTag: string,
  entry: CatalogueEntry,
  source: IcingaSource,
  compiledTag: string,
  progress: Progress,
  signal?: AbortSignal,
): Promise<CompileFigures> {
  signal?.throwIfAborted();
  const started = performance.now();
  const volume = compilerCacheVolume(entry.suite);
  await ensureVolume(docker, volume);
  const logPath = join(resultsDir(), '.build', `icinga2-${entry.version}-compile.log`);
  await makeDirectory(join(logPath, '..'));
  progress.step(`compiling Icinga ${entry.version} from ${source.id} on ${entry.suite} (log: ${logPath})`);
  const container = await docker.createContainer({
    Image: builderTag,
    Cmd: ['hh-compile'],
    Env: [`HH_JOBS=${availableParallelism()}`],
    Labels: harnessLabels({ [Labels.ROLE]: 'compile' }),
    HostConfig: { Binds: [`${volume}:/ccache`], NetworkMode: 'none' },
  });
  const log = createWriteStream(logPath);
  // A log that cannot be written must not crash the build: the tail still reaches the error.
  log.on('error', () => undefined);
  const tail: string[] = [];
  let figures = { cacheHits: 0, cacheMisses: 0 };
  const onAbort = () => void container.kill().catch(() => undefined);
  try {
    await container.putArchive(source.archive(), { path: '/' });
    const output = new PassThrough();
    const stream = await container.attach({ stream: true, stdout: true, stderr: true });
    docker.modem.demuxStream(stream, output, output);
    let shownPercent = -10;
    let partial = '';
    output.on('data', (chunk: Buffer) => {
      if (log.writable) log.write(chunk);
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        tail.push(line);
        if (tail.length > 30) tail.shift();
        const percent = Number(/^\[\s*(\d+)%\]/.exec(line)?.[1] ?? Number.NaN);
        if (percent >= shownPercent + 10) {
          shownPercent = percent - (percent % 10);
          progress.detail(`compile ${percent}% (${Math.round((performance.now() - started) / 1000)} s)`);
        }
        const cache = /^hh-compile: ccache hits (\d+) misses (\d+)/.exec(line);
        if (cache) figures = { cacheHits: Number(cache[1]), cacheMisses: Number(cache[2]) };
      }
    });
    signal?.addEventListener('abort', onAbort, { once: true });
    // Interrupted while the source was copied in: the compile never starts.
    signal?.throwIfAborted();
    const drained = new Promise<void>((resolve) => {
      stream.once('end', () => resolve());
      stream.once('close', () => resolve());
    });
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    // make's last lines (the ones that say why) arrive after the exit: wait for them, briefly.
    await Promise.race([drained, sleep(5_000)]);
    signal?.throwIfAborted();
    if (StatusCode !== 0)
      throw new HuntError(
        ErrorCodes.IMAGE_BUILD_FAILED,
        `Compiling Icinga ${entry.version} failed (exit ${StatusCode}). Last lines:\n  ${tail.slice(-8).join('\n  ')}\n` +
          `Full log: ${logPath}. Nothing was tagged.`,
        { details: { log: logPath } },
      );
    const [repo, tag] = compiledTag.split(/:(?=[^:]+$)/) as [string, string];
    await container.commit({ repo, tag });
    return { seconds: elapsed(started), ...figures };
  } finally {
    signal?.removeEventListener('abort', onAbort);
    log.end();
    await container.remove({ force: true }).catch(() => undefined);
  }
}

/** The compiler caches source builds left, with their sizes (what `hunt clean --all` frees). */
export async function listCompilerCaches(
  docker: Docker,
): Promise<Array<{ name: string; sizeBytes: number; holds: string }>> {
  const { Volumes } = await docker.listVolumes({
    filters: JSON.stringify({ name: [COMPILER_CACHE_PREFIX] }),
  });
  if (!Volumes?.length) return [];
  // Only the engine's disk-usage call measures volumes (it takes a moment).
  const usage = (await docker.df()) as { Volumes?: Array<{ Name: string; UsageData?: { Size?: number } }> };
  return Volumes.map((volume) => ({
    name: volume.Name,
    sizeBytes: usage.Volumes?.find((v) => v.Name === volume.Name)?.UsageData?.Size ?? 0,
    holds: 'compiled objects of Icinga source builds (ccache), reused by the next version',
  }));
}

async function ensureVolume(docker: Docker, name: string): Promise<void> {
  const exists = await docker
    .getVolume(name)
    .inspect()
    .then(
      () => true,
      () => false,
    );
  if (!exists)
    await docker.createVolume({ Name: name, Labels: imageLabels({ [Labels.ROLE]: 'compiler-cache' }) });
}
