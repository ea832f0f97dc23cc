import { cleanManaged } from '../../engine/clean.ts';
import { preflight } from '../../engine/preflight.ts';
import { parseCommandArgs } from '../args.ts';
import { type Command, showHelp } from '../command.ts';

export const clean: Command = {
  name: 'clean',
  summary: 'remove containers, networks and volumes of runs that are gone (--all: images too)',
  help: `Usage: hunt clean [--all] [--run <id>] [--force] [--json]

Removes the containers, networks and volumes of runs whose process is gone (also runs killed
with SIGKILL). Each carries io.handshake-hunter.managed=true and an owner label (host, pid and
the pid's start time); objects of a run still alive on this host, or owned from another host,
are kept and listed, so a clean never reaps a run in progress. Containers started by hand from
the harness's images are not run objects and are never touched. Run folders under results/ are
kept.

  --stages     also remove the untagged stages image builds leave (about 0.5 GB each;
               images stay, the next rebuild of a changed recipe redoes those steps), and
               the tools layered on a user's image (--image) that is gone or was rebuilt
  --all        also remove the harness's images and compiler caches (the next run rebuilds
               them; a source build compiles from scratch)
  --run <id>   only what the run <id> created
  --force      also remove objects whose owner is alive or on another host`,
  async run(argv, output) {
    const { values } = parseCommandArgs('clean', argv, {
      all: { type: 'boolean' },
      stages: { type: 'boolean' },
      run: { type: 'string' },
      force: { type: 'boolean' },
    });
    if (values.help) return showHelp(output, clean.help);
    const engine = await preflight(output);
    const removed = await cleanManaged(engine.docker, {
      images: values.all === true,
      stages: values.stages === true,
      runId: values.run,
      force: values.force === true,
    });
    const { kept, ...gone } = removed;
    const counts = Object.entries(gone).map(([kind, names]) => `${names.length} ${kind}`);
    const keptNote =
      kept.length > 0
        ? `; kept ${kept.length} of live runs (${[...new Set(kept.map((k) => k.owner))].join(', ')}; --force removes them)`
        : '';
    output.result(removed, `removed ${counts.join(', ')}${keptNote}`);
    return 0;
  },
};
