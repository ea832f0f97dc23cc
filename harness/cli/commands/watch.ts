import { parseDuration } from '../../duration.ts';
import { ensureHostTools } from '../../engine/host-tools.ts';
import { CAPTURE_TOOLS } from '../../engine/preflight.ts';
import { ErrorCodes, HuntError } from '../../errors.ts';
import { budgetFor, checkDiskCap, checkRing } from '../../runner/disk-budget.ts';
import { prepareRun } from '../../runner/runner.ts';
import { watchScenario } from '../../runner/watch-scenario.ts';
import type { SystemWatch } from '../../seam/target.ts';
import { captureMode, parseCommandArgs, parseSize } from '../args.ts';
import { type Command, showHelp } from '../command.ts';
import { graceful } from '../interrupt.ts';
import { printResult, statusPrinter } from '../run-output.ts';
import { systems } from '../systems.ts';

/** The systems that can be watched, and the one `hunt watch` takes (the only one, today). */
const watchable = systems.flatMap((system) =>
  system.watch ? [{ name: system.name, watch: system.watch }] : [],
);
const [chosen] = watchable as [{ name: string; watch: SystemWatch }];

export const watch: Command = {
  name: 'watch',
  summary: `record a running ${chosen.name} of your own (host or container) until it fails: hunt watch --pid <pid>`,
  help: `Usage: hunt watch [options below] [--duration <8h>] [--disk-cap <5GB>]
                  [--capture on|off|optional] [--results <dir>] [--dry-run] [--json]

Attaches to a running ${chosen.name} that the harness did not start, on this host or in a container
on it, and records until Ctrl-C: its log (followed across rotation and restarts) and a packet
capture ring of its port in its own network namespace. What the detectors find becomes an
incident with the capture window, the log around it, report.md and a bundle, as in a run. Run it
as root. Nothing is sent to the watched process.

${chosen.watch.help}
  --duration <d>    stop after this long (90s, 30m, 8h); default: until Ctrl-C
  --disk-cap <size> the watch folder's limit: capture ring, history, incidents (default 5GB;
                    at least 256MB)
  --ring <size>     the capture ring's bytes (default a fifth of --disk-cap; at least 8MB, at
                    most half of it): how far back a kept window can reach on a busy port
  --capture <mode>  on (default), off, or optional (go on without where it cannot)
  --results <dir>   where the watch folder goes (default results/, or HH_RESULTS_DIR)
  --dry-run         say what was found and what would be recorded, then exit

TLS 1.2 handshakes (certificates, their lengths, alerts) are readable in the capture without
keys. See docs/commands/watch.md.

Exit codes: 0 nothing found (--duration ran out), 1 an incident, 2 bad input (nothing started),
3 harness failure, 130 interrupted (Ctrl-C, the usual end of a watch: the report is written).`,
  async run(argv, output) {
    const { values } = parseCommandArgs('watch', argv, { ...watchOptions, ...chosen.watch.options });
    if (values.help) return showHelp(output, watch.help);
    if (process.getuid?.() !== 0)
      throw new HuntError(
        ErrorCodes.USAGE,
        'hunt watch reads another process through /proc and captures in its network namespace: run it as root (sudo).',
      );
    // The options first: a bad one is reported as such, not as a daemon not found.
    const capture = values.capture === undefined ? 'on' : captureMode(values.capture);
    const diskCapBytes = parseSize(values['disk-cap'] ?? '5GB');
    const durationMs = values.duration === undefined ? undefined : parseDuration(values.duration);
    checkDiskCap(diskCapBytes);
    const ringBytes = values.ring === undefined ? undefined : parseSize(values.ring);
    if (ringBytes !== undefined) checkRing(ringBytes, diskCapBytes);
    const found = await chosen.watch.find(values);
    const prepared = await prepareRun({
      scenario: watchScenario(found),
      durationMs,
      // A watch runs for days: its folder is always held under a cap, as a soak's is.
      diskCapBytes,
      ringBytes,
      resultsDir: values.results,
      capture,
      // The traffic is the watched instance's and its peers': their secrets are embedded only where
      // the user has the daemon write them and names the file.
      secrets: found.secrets === true,
      command: ['hunt', 'watch', ...argv],
      progress: output,
      signal: graceful(),
      onStatus: statusPrinter(output),
    });
    if (values['dry-run']) {
      // The ring as the run will size it: for the one node a watch records.
      const { ring, historyBytes } = budgetFor(diskCapBytes, 1, ringBytes);
      const [first, ...rest] = found.lines;
      const text = [
        `would watch ${first}`,
        ...rest,
        `  capture: ${capture === 'off' ? 'off' : `${found.captures}, as a ring (${capture})`}`,
        `  detectors: ${prepared.detectors.join(', ')}`,
        `  caps: the folder ${gigabytes(diskCapBytes)} (incident windows pruned oldest first), the ring ${ring.files} x ${ring.fileMb} MB, the history ${gigabytes(historyBytes)}`,
      ];
      output.result(
        {
          ...found.description,
          capture,
          detectors: prepared.detectors,
          caps: { diskCapBytes, ring, historyBytes },
        },
        text.join('\n'),
      );
      return 0;
    }
    // The watched host is someone's production master: nothing is installed on it. With
    // --capture optional, a missing tool means a watch without captures, as the recorder says.
    if (capture === 'on') await ensureHostTools(CAPTURE_TOOLS, output, { install: false });
    const result = await prepared.execute();
    if (result.error) output.error(result.error, { jsonToo: false });
    printResult(output, result);
    return result.exitCode;
  },
};

const watchOptions = {
  duration: { type: 'string' },
  'disk-cap': { type: 'string' },
  ring: { type: 'string' },
  capture: { type: 'string' },
  results: { type: 'string' },
  'dry-run': { type: 'boolean' },
} as const;

function gigabytes(bytes: number): string {
  return bytes >= 1e9 ? `${Math.round(bytes / 1e8) / 10} GB` : `${Math.round(bytes / 1e6)} MB`;
}
