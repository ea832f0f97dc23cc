import { cleanManaged } from '../../engine/clean.ts';
import { preflight } from '../../engine/preflight.ts';
import { parseCommandArgs } from '../args.ts';
import { type Command, showHelp } from '../command.ts';

export const clean: Command = {
  name: 'clean',
  summary: 'remove containers, networks and volumes a run left behind (--all: images too)',
  help: `Usage: hunt clean [--all] [--run <id>] [--json]

Removes everything that carries the harness's label (io.handshake-hunter.managed=true):
containers, networks and volumes, also those of a run killed with SIGKILL. Run folders under
results/ are kept.

  --all        also remove the harness's images (the next run rebuilds them)
  --run <id>   only what the run <id> created`,
  async run(argv, output) {
    const { values } = parseCommandArgs('clean', argv, { all: { type: 'boolean' }, run: { type: 'string' } });
    if (values.help) return showHelp(output, clean.help);
    const engine = await preflight(output);
    const removed = await cleanManaged(engine.docker, { images: values.all === true, runId: values.run });
    const counts = Object.entries(removed).map(([kind, names]) => `${names.length} ${kind}`);
    output.result(removed, `removed ${counts.join(', ')}`);
    return 0;
  },
};
