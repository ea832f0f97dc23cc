import { describeAddress } from '../../engine/docker-engine.ts';
import { which } from '../../engine/host-tools.ts';
import { CAPTURE_TOOLS, preflight } from '../../engine/preflight.ts';
import { parseCommandArgs } from '../args.ts';
import { type Command, showHelp } from '../command.ts';
import { systems } from '../systems.ts';

export const doctor: Command = {
  name: 'doctor',
  summary: 'find (or install and start) the Docker engine and the host tools',
  help: `Usage: hunt doctor [--json]

Finds the Docker engine (DOCKER_HOST, else ${'/var/run/docker.sock'}). Where none answers and
this is Debian/Ubuntu as root, installs docker.io, starts dockerd in the background (log in
results/.engine/dockerd.log) and waits for it. Checks the host tools (${CAPTURE_TOOLS.join(', ')})
the same way. run, soak, images, clean and the tests run this preflight first; list, report,
merge, bundle and proxy never need the engine.

Exit codes: 0 ready, 2 something is missing that hunt cannot install here (the message says what).`,
  async run(argv, output) {
    const { values } = parseCommandArgs('doctor', argv, {});
    if (values.help) return showHelp(output, doctor.help);
    const engine = await preflight(output);
    const tools: Record<string, string | undefined> = {};
    for (const tool of CAPTURE_TOOLS) tools[tool] = await which(tool);
    // Each system's catalogue images: the id where built, null where not yet.
    const images: Record<string, Record<string, string | null>> = {};
    const imageLines: string[] = [];
    for (const system of systems) {
      const versions: Record<string, string | null> = {};
      images[system.name] = versions;
      for (const version of system.versions) {
        const info = await engine.docker
          .getImage(system.images.tag(version))
          .inspect()
          .catch(() => undefined);
        const id = info ? info.Id.slice(7, 19) : null;
        versions[version] = id;
        imageLines.push(
          `image    ${system.name.padEnd(8)} ${version.padEnd(7)} ${id ?? `not built (run: hunt images build --${system.name} ${version})`}`,
        );
      }
    }
    const lines = [
      `engine   Docker ${engine.version} at ${describeAddress(engine.address)}${engine.started ? ' (started by hunt)' : ''}`,
      ...Object.entries(tools).map(([tool, path]) => `tool     ${tool.padEnd(8)} ${path ?? 'missing'}`),
      ...imageLines,
    ];
    output.result(
      {
        engine: {
          version: engine.version,
          address: describeAddress(engine.address),
          started: engine.started,
        },
        tools,
        images,
      },
      lines.join('\n'),
    );
    return 0;
  },
};
