import { preflight } from '../../engine/preflight.ts';
import { ErrorCodes, HuntError } from '../../errors.ts';
import {
  type CatalogueEntry,
  catalogue,
  catalogueVersions,
  parseVersionList,
} from '../../images/catalogue.ts';
import {
  type BuildOutcome,
  buildIcingaImage,
  listIcingaImages,
  resolveUserImage,
} from '../../images/icinga-image.ts';
import { buildStunnelImage, parseStunnelVersions, stunnelCatalogue } from '../../stunnel/stunnel-image.ts';
import { parseCommandArgs } from '../args.ts';
import { type Command, showHelp } from '../command.ts';

const help = `Usage: hunt images build [--icinga <versions>] [--image <repo:tag>] [--no-cache] [--json]
       hunt images build --stunnel <versions> [--no-cache] [--json]
       hunt images list [--json]

build   Builds handshake-hunter/icinga2:<version> for each catalogue version (default: all of
        ${catalogueVersions.join(', ')}), offline from Debian packages: a debootstrapped base
        from this machine's apt mirror (or debian:<suite> where present), then docker/icinga2/.
        An image whose inputs did not change is reused; a second build takes seconds.
          --icinga 2.13.6,2.14.6   only these versions
          --image repo:tag         check a user-named image instead: it must run icinga2
          --stunnel 5.56,5.68      build handshake-hunter/stunnel:<version> instead (stunnel4,
                                   rsyslog and nginx of ${stunnelCatalogue.map((e) => `${e.version}: ${e.suite}`).join(', ')})
          --no-cache               build every step again (the mirror's newest packages);
                                   HH_IMAGE_NO_CACHE=1 does the same for hunt run
list    The harness's images: Icinga version as \`icinga2 --version\` reports it, OpenSSL
        version, image id, size, build date.

Catalogue: ${catalogue.map((entry) => `${entry.version} (${entry.suite})`).join(', ')}.
Exit codes: 0 ok, 2 unknown version / not an Icinga image / no engine, 3 a build failed.`;

export const images: Command = {
  name: 'images',
  summary: 'build or list the Icinga 2 (or stunnel) images (offline, from Debian packages)',
  help,
  async run(argv, output) {
    const { values, positionals } = parseCommandArgs('images', argv, {
      icinga: { type: 'string' },
      image: { type: 'string' },
      stunnel: { type: 'string' },
      'no-cache': { type: 'boolean' },
    });
    const sub = positionals[0];
    if (values.help || sub === undefined) return showHelp(output, help);
    if (sub === 'build' && values.stunnel !== undefined) {
      if (values.icinga !== undefined || values.image !== undefined)
        throw new HuntError(
          ErrorCodes.USAGE,
          'Build Icinga or stunnel images, not both at once. See: hunt images --help',
        );
      const entries = parseStunnelVersions(values.stunnel);
      const engine = await preflight(output);
      const builds = [];
      for (const entry of entries) {
        output.step(`image for stunnel ${entry.version} (${entry.suite})`);
        const build = await buildStunnelImage(engine.docker, entry, output, undefined, {
          noCache: values['no-cache'] === true,
        });
        builds.push({ version: entry.version, ...build });
      }
      output.result(builds, buildTable(builds));
      return 0;
    }
    if (sub === 'build') {
      if (values.icinga !== undefined && values.image !== undefined) {
        throw new HuntError(
          ErrorCodes.USAGE,
          'Use either --icinga or --image, not both. See: hunt images --help',
        );
      }
      // Validate every version before touching the engine: bad input builds nothing.
      const entries = values.icinga === undefined ? [...catalogue] : parseVersionList(values.icinga);
      const engine = await preflight(output);
      if (values.image !== undefined) {
        const resolved = await resolveUserImage(engine.docker, values.image, output);
        output.result(
          resolved,
          `${resolved.reference}: Icinga ${resolved.icingaVersion}, OpenSSL ${resolved.opensslVersion ?? '?'}`,
        );
        return 0;
      }
      return buildAll(entries, engine.docker, output, values['no-cache'] === true);
    }
    if (sub === 'list') {
      const engine = await preflight(output);
      const summaries = await listIcingaImages(engine.docker);
      const rows = summaries.map(
        (s) =>
          `${s.tag.padEnd(32)} icinga ${String(s.icingaVersion).padEnd(7)} openssl ${String(s.opensslVersion).padEnd(7)} ` +
          `${s.imageId.slice(7, 19)}  ${(s.sizeBytes / 1e6).toFixed(0).padStart(4)} MB  ${s.created}\n` +
          `${''.padEnd(32)} ${s.icingaBanner}`,
      );
      output.result(summaries, rows.length > 0 ? rows.join('\n') : 'no images yet (run: hunt images build)');
      return 0;
    }
    throw new HuntError(
      ErrorCodes.USAGE,
      `Unknown images subcommand "${sub}". Use build or list. See: hunt images --help`,
    );
  },
};

async function buildAll(
  entries: CatalogueEntry[],
  docker: Parameters<typeof buildIcingaImage>[0],
  output: Parameters<typeof buildIcingaImage>[2] & { result(data: unknown, text: string): void },
  noCache: boolean,
): Promise<number> {
  const outcomes: BuildOutcome[] = [];
  for (const entry of entries) {
    output.step(`image for Icinga ${entry.version} (${entry.suite})`);
    const outcome = await buildIcingaImage(docker, entry, output, undefined, { noCache });
    output.detail(`${outcome.tag} ${outcome.status} in ${outcome.seconds} s`);
    outcomes.push(outcome);
  }
  output.result(outcomes, buildTable(outcomes));
  return 0;
}

/** One line per image built or reused: tag, built or cached, id, seconds. */
function buildTable(
  builds: ReadonlyArray<{ tag: string; status: string; imageId: string; seconds: number }>,
): string {
  return builds
    .map((b) => `${b.tag.padEnd(32)} ${b.status.padEnd(6)} ${b.imageId.slice(7, 19)} ${b.seconds} s`)
    .join('\n');
}
