import { preflight } from '../../engine/preflight.ts';
import { ErrorCodes, HuntError } from '../../errors.ts';
import type { ImageBuild, ImageListing, SystemUnderTest } from '../../seam/target.ts';
import { parseCommandArgs } from '../args.ts';
import { type Command, showHelp } from '../command.ts';
import { systemOptions, systems } from '../systems.ts';

const [defaultSystem] = systems;

const help = `Usage: hunt images build [--<system> <versions>] [--image <repo:tag>] [--no-cache] [--json]
       hunt images list [--json]

build   Builds each system's image for catalogue versions, offline from Debian packages: a
        debootstrapped base from this machine's apt mirror (or debian:<suite> where present),
        then the system's recipe in docker/. An image whose inputs did not change is reused; a
        second build takes seconds. With no system option: every ${defaultSystem.name} version.
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
          --no-cache             build every step again (the mirror's newest packages);
                                 HH_IMAGE_NO_CACHE=1 does the same for hunt run
list    Every system's images: the version its binary reports, OpenSSL's, image id, size,
        build date.

Exit codes: 0 ok, 2 unknown version / an image that does not run the system / no engine,
3 a build failed.`;

export const images: Command = {
  name: 'images',
  summary: "build or list each system's images (offline, from Debian packages)",
  help,
  async run(argv, output) {
    const { values, positionals } = parseCommandArgs('images', argv, {
      ...systemOptions,
      image: { type: 'string' },
      'no-cache': { type: 'boolean' },
    });
    const sub = positionals[0];
    if (values.help || sub === undefined) return showHelp(output, help);
    if (sub === 'build') {
      const given = values as Record<string, unknown>;
      const named = systems.filter((system) => given[system.name] !== undefined);
      if (named.length > 1)
        throw new HuntError(
          ErrorCodes.USAGE,
          `Build one system's images at a time: give one of ${named.map((s) => `--${s.name}`).join(', ')}. See: hunt images --help`,
        );
      const system = named[0] ?? defaultSystem;
      const versionList = given[system.name] as string | undefined;
      if (values.image !== undefined) return checkImage(system, values.image, versionList, output);
      // Validate every version before touching the engine: bad input builds nothing.
      const versions =
        versionList === undefined ? [...system.versions] : system.images.parseVersions(versionList);
      const engine = await preflight(output);
      const builds: ImageBuild[] = [];
      for (const version of versions) {
        output.step(`image for ${system.name} ${version}`);
        const build = await system.images.build(engine.docker, version, output, {
          noCache: values['no-cache'] === true,
        });
        output.detail(`${build.tag} ${build.status} in ${build.seconds} s`);
        builds.push(build);
      }
      output.result(builds, buildTable(builds));
      return 0;
    }
    if (sub === 'list') {
      const engine = await preflight(output);
      const listings: ImageListing[] = [];
      for (const system of systems) listings.push(...(await system.images.list(engine.docker)));
      output.result(
        listings,
        listings.length > 0 ? listTable(listings) : 'no images yet (run: hunt images build)',
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
    `${checked.reference}: ${system.name} ${checked.version}, OpenSSL ${checked.openssl ?? '?'}`,
  );
  return 0;
}

/** One line per image built or reused: tag, built or cached, id, seconds. */
function buildTable(builds: readonly ImageBuild[]): string {
  return builds
    .map((b) => `${b.tag.padEnd(32)} ${b.status.padEnd(6)} ${b.imageId.slice(7, 19)} ${b.seconds} s`)
    .join('\n');
}

/** Two lines per image: what it is, then its binary's own banner. */
function listTable(listings: readonly ImageListing[]): string {
  return listings
    .map(
      (image) =>
        `${image.tag.padEnd(32)} ${image.system} ${String(image.version).padEnd(7)} openssl ${String(image.openssl).padEnd(7)} ` +
        `${image.imageId.slice(7, 19)}  ${(image.sizeBytes / 1e6).toFixed(0).padStart(4)} MB  ${image.created}\n` +
        `${''.padEnd(32)} ${image.banner}`,
    )
    .join('\n');
}
