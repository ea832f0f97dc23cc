import { describeAddress } from '../../engine/docker-engine.ts';
import { which } from '../../engine/host-tools.ts';
import { CAPTURE_TOOLS, preflight } from '../../engine/preflight.ts';
import { catalogue, imageTag } from '../../images/catalogue.ts';
import { parseCommandArgs } from '../args.ts';
import { type Command, showHelp } from '../command.ts';

export const doctor: Command = {
  name: 'doctor',
  summary: 'find (or install and start) the Docker engine and the host tools',
  help: `Usage: hunt doctor [--json]

Finds the Docker engine (DOCKER_HOST, else ${'/var/run/docker.sock'}). Where none answers and
this is Debian/Ubuntu as root, installs docker.io, starts dockerd in the background (log in
results/.engine/dockerd.log) and waits for it. Checks the host tools (${CAPTURE_TOOLS.join(', ')})
the same way. Every other command runs this preflight first.

Exit codes: 0 ready, 2 something is missing that hunt cannot install here (the message says what).`,
  async run(argv, output) {
    const { values } = parseCommandArgs('doctor', argv, {});
    if (values.help) return showHelp(output, doctor.help);
    const engine = await preflight(output);
    const tools: Record<string, string | undefined> = {};
    for (const tool of CAPTURE_TOOLS) tools[tool] = await which(tool);
    const images: Record<string, string | null> = {};
    for (const entry of catalogue) {
      const info = await engine.docker
        .getImage(imageTag(entry.version))
        .inspect()
        .catch(() => undefined);
      images[entry.version] = info ? info.Id.slice(7, 19) : null;
    }
    const lines = [
      `engine   Docker ${engine.version} at ${describeAddress(engine.address)}${engine.started ? ' (started by hunt)' : ''}`,
      ...Object.entries(tools).map(([tool, path]) => `tool     ${tool.padEnd(8)} ${path ?? 'missing'}`),
      ...Object.entries(images).map(
        ([version, id]) =>
          `image    icinga2 ${version.padEnd(7)} ${id ?? 'not built (run: hunt images build)'}`,
      ),
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
