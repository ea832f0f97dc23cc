import { preflight } from '../../engine/preflight.ts';
import { ErrorCodes, HuntError } from '../../errors.ts';
import type { ImageBuild, ImageListing, SystemUnderTest } from '../../seam/target.ts';
import { parseCommandArgs } from '../args.ts';
import { type Command, showHelp } from '../command.ts';
import { graceful } from '../interrupt.ts';
import type { Output } from '../output.ts';
import { systemOptions, systems } from '../systems.ts';

const [defaultSystem] = systems;

const help = `Usage: hunt images build [--<system> <versions> | --all] [--source DIR] [--image <repo:tag>] [--no-cache] [--json]
       hunt images list [--json]

build   Builds each system's image for catalogue versions, offline from Debian packages: a
        debootstrapped base from this machine's apt mirror (or debian:<suite> where present),
        then the system's recipe in docker/. An image whose inputs did not change is reused; a
        second build takes seconds. With no system option: every ${defaultSystem.name} version.
          --all                  every catalogue version of every system (${systems.map((system) => system.name).join(', ')}):
                                 what the tests need, built before they start
${systems
  .map(
    (system) =>
      `          --${system.name.padEnd(8)} <versions>   ${system.images.tag('<version>')}; of ${system.versions.join(', ')}`,
  )
  .join('\n')}
          --image repo:tag       check a user-named image instead: it must run the system
                                 (${systems
                                   .filter((system) => system.images.check)
                                   .map((system) => system.name)
                                   .join(', ')} only)
${systems
  .filter((system) => system.images.fromSource)
  .map(
    (system) =>
      `          --source DIR           compile ${system.name} versions from source (any release; those\n` +
      `                                 the catalogue lacks need it): DIR is ${system.images.fromSource?.help}.\n` +
      '                                 A compiler cache makes the next version quicker.',
  )
  .join('\n')}
          --no-cache             build every step again (the mirror's newest packages);
                                 HH_IMAGE_NO_CACHE=1 does the same for hunt run
list    Every system's images: the version its binary reports, OpenSSL's, image id, size,
        build date, and what it was built from (packages, or the source commit); then the
        build caches kept between builds and their sizes (hunt clean --all frees them).

Exit codes: 0 ok, 2 unknown version / an image that does not run the system / no engine,
3 a build failed, 130 interrupted (the build in progress tags nothing).`;

/**
 * Builds the images in order, one at a time (each is CPU-bound); Ctrl-C cancels the build in
 * progress (a compile container is killed) and tags nothing, the earlier ones are kept.
 */
async function buildImages(
  plan: Array<{ system: SystemUnderTest; versions: string[] }>,
  options: { noCache: boolean; source?: string },
  output: Output,
): Promise<number> {
  const engine = await preflight(output);
  const signal = graceful();
  const builds: ImageBuild[] = [];
  for (const { system, versions } of plan)
    for (const version of versions) {
      output.step(`image for ${system.name} ${version}`);
      const build = await system.images
        .build(engine.docker, version, output, { ...options, signal })
        .catch((error: unknown) => {
          if (signal.aborted) return undefined;
          throw error;
        });
      if (build === undefined) {
        output.step(`interrupted: ${system.images.tag(version)} was not tagged; earlier builds are kept`);
        return 130;
      }
      output.detail(
        `${build.tag} ${build.status} in ${build.seconds} s` +
          (build.compile
            ? ` (compile ${build.compile.seconds} s, compiler cache ${build.compile.cacheHits} hits, ${build.compile.cacheMisses} misses)`
            : ''),
      );
      builds.push(build);
    }
  output.result(builds, buildTable(builds));
  return 0;
}

export const images: Command = {
  name: 'images',
  summary: "build or list each system's images (offline, from Debian packages)",
  help,
  async run(argv, output) {
    const { values, positionals } = parseCommandArgs('images', argv, {
      ...systemOptions,
      image: { type: 'string' },
      all: { type: 'boolean' },
      'no-cache': { type: 'boolean' },
      source: { type: 'string' },
    });
    const sub = positionals[0];
    if (values.help || sub === undefined) return showHelp(output, help);
    if (sub === 'build') {
      const given = values as Record<string, unknown>;
      const named = systems.filter((system) => given[system.name] !== undefined);
      if (values.all === true) {
        if (named.length > 0 || values.image !== undefined || values.source !== undefined)
          throw new HuntError(
            ErrorCodes.USAGE,
            '--all builds every catalogue version of every system: give it alone (with --no-cache at most). See: hunt images --help',
          );
        return buildImages(
          systems.map((system) => ({ system, versions: [...system.versions] })),
          { noCache: values['no-cache'] === true },
          output,
        );
      }
      if (named.length > 1)
        throw new HuntError(
          ErrorCodes.USAGE,
          `Build one system's images at a time: give one of ${named.map((s) => `--${s.name}`).join(', ')}, or --all for every system's. See: hunt images --help`,
        );
      const system = named[0] ?? defaultSystem;
      const versionList = given[system.name] as string | undefined;
      if (values.image !== undefined) return checkImage(system, values.image, versionList, output);
      const source = values.source;
      if (source !== undefined && !system.images.fromSource)
        throw new HuntError(
          ErrorCodes.USAGE,
          `${system.name} is built from Debian's packages only: drop --source.`,
        );
      if (source !== undefined && versionList === undefined)
        throw new HuntError(
          ErrorCodes.USAGE,
          `--source needs the versions to compile: --${system.name} 2.14.4,2.16.5 --source ${source}. See: hunt images --help`,
        );
      // Validate every version before touching the engine: bad input builds nothing.
      const versions =
        versionList === undefined
          ? [...system.versions]
          : system.images.parseVersions(versionList, { source });
      // The source too: a folder without the versions' tags compiles nothing and prints one error.
      if (source !== undefined)
        for (const version of versions) await system.images.fromSource?.check(source, version);
      return buildImages([{ system, versions }], { noCache: values['no-cache'] === true, source }, output);
    }
    if (sub === 'list') {
      const engine = await preflight(output);
      const listings: ImageListing[] = [];
      const caches: string[] = [];
      for (const system of systems) {
        listings.push(...(await system.images.list(engine.docker)));
        for (const cache of (await system.images.caches?.(engine.docker)) ?? [])
          caches.push(`cache  ${cache.name}  ${(cache.sizeBytes / 1e6).toFixed(0)} MB: ${cache.holds}`);
      }
      output.result(
        listings,
        [
          listings.length > 0 ? listTable(listings) : 'no images yet (run: hunt images build)',
          ...caches,
        ].join('\n'),
      );
      return 0;
    }
    throw new HuntError(
      ErrorCodes.USAGE,
      `Unknown images subcommand "${sub}". Use build or list. See: hunt images --help`,
    );
  },
};

async function checkImage(
  system: SystemUnderTest,
  reference: string,
  versionList: string | undefined,
  output: Parameters<Command['run']>[1],
): Promise<number> {
  if (versionList !== undefined)
    throw new HuntError(
      ErrorCodes.USAGE,
      `Use either --${system.name} or --image, not both. See: hunt images --help`,
    );
  if (!system.images.check)
    throw new HuntError(
      ErrorCodes.USAGE,
      `${system.name} runs on the harness's own images only; build them with --${system.name} <versions>.`,
    );
  const engine = await preflight(output);
  const checked = await system.images.check(engine.docker, reference, output);
  output.result(
    checked,
    `${checked.reference}: ${system.name} ${checked.version}, OpenSSL ${checked.openssl ?? '?'}` +
      (checked.runsAs && checked.runsAs !== checked.reference
        ? `; runs as ${checked.runsAs} (the harness's tools layered on)`
        : ''),
  );
  return 0;
}

/** One line per image built or reused: tag, built or cached, id, seconds. */
function buildTable(builds: readonly ImageBuild[]): string {
  return builds
    .map((b) => `${b.tag.padEnd(32)} ${b.status.padEnd(6)} ${b.imageId.slice(7, 19)} ${b.seconds} s`)
    .join('\n');
}

/** Three lines per image: what it is, its binary's own banner, and what it was built from. */
function listTable(listings: readonly ImageListing[]): string {
  return listings
    .map(
      (image) =>
        `${image.tag.padEnd(32)} ${image.system} ${String(image.version).padEnd(7)} openssl ${String(image.openssl).padEnd(7)} ` +
        `${image.imageId.slice(7, 19)}  ${(image.sizeBytes / 1e6).toFixed(0).padStart(4)} MB  ${image.created}\n` +
        `${''.padEnd(32)} ${image.banner}\n` +
        `${''.padEnd(32)} built from ${image.builtFrom}`,
    )
    .join('\n');
}
