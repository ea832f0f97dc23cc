import { parseDuration } from '../../duration.ts';
import { preflight } from '../../engine/preflight.ts';
import { ErrorCodes, HuntError } from '../../errors.ts';
import { MAX_STEPS, prepareRun } from '../../runner/runner.ts';
import { captureMode, detectorList, integerOption, parseCommandArgs, parseSize } from '../args.ts';
import { type Command, showHelp } from '../command.ts';
import { graceful } from '../interrupt.ts';
import { printResult, statusPrinter } from '../run-output.ts';
import { scenarioCatalog } from '../scenarios.ts';
import { chosenVersion, systemNames, systemOptions, systems } from '../systems.ts';

export const soak: Command = {
  name: 'soak',
  summary: 'hunt for hours under a disk cap, refreshing the report: hunt soak <scenario> --duration 8h',
  help: `Usage: hunt soak <scenario> --duration <8h> [--disk-cap 5GB] [--report-every 5m]
                 [--param name=value ...] [--<system> <version> | --image <ref>] [--seed <n>]
                 [--results <dir>] [--detectors <a,b>] [--capture on|off|optional]
                 [--no-secrets] [--json]

A run that goes on until --duration (the scenario's steps without end:
${systems.map((system) => `${system.name}'s ${system.stepUnit}`).join(', ')}), keeps hunting after incidents (each new incident
keeps its evidence and capture, repeats are counted on it), rewrites report.md every
--report-every so a killed soak still has a recent one, and holds its run folder under
--disk-cap: the history, key logs, capture rings and node logs get budgets from the cap, node
logs rotate, and when the folder nears the cap the oldest incidents' capture windows go first,
then their cut streams; summaries, excerpts and the history stay.

  --duration <d>      how long (30m, 8h); required
  --disk-cap <size>   the run folder's limit (default 5GB; at least 256MB)
  --report-every <d>  how often report.md is rewritten (default 5m)
  --<system> <version> the version of the scenario's system: ${systemNames.map((name) => `--${name}`).join(', ')}
  --param, --image, --seed, --results, --detectors, --capture, --no-secrets
                      as for hunt run

Ctrl-C (or SIGTERM) stops within seconds and writes the final report (exit 130).
A disk that fills up anyway stops the run with HH_DISK_FULL (exit 2).

Exit codes: as hunt run: 0 every expectation met, 1 an expectation not met, 2 bad input
or a full disk, 3 harness failure, 130 interrupted.`,
  async run(argv, output) {
    const { values, positionals } = parseCommandArgs('soak', argv, {
      param: { type: 'string', multiple: true },
      ...systemOptions,
      image: { type: 'string' },
      duration: { type: 'string' },
      'disk-cap': { type: 'string' },
      'report-every': { type: 'string' },
      seed: { type: 'string' },
      results: { type: 'string' },
      detectors: { type: 'string' },
      capture: { type: 'string' },
      'no-secrets': { type: 'boolean' },
    });
    if (values.help) return showHelp(output, soak.help);
    if (positionals.length !== 1)
      throw new HuntError(
        ErrorCodes.USAGE,
        'Name one scenario: hunt soak <scenario> --duration 8h (hunt list shows them)',
      );
    if (values.duration === undefined)
      throw new HuntError(ErrorCodes.USAGE, 'A soak needs --duration (30m, 8h): it runs until then.');
    const prepared = await prepareRun({
      scenario: await scenarioCatalog.find(positionals[0] as string),
      params: values.param ?? [],
      ...chosenVersion(values),
      image: values.image,
      // Steps without end: the duration decides.
      steps: MAX_STEPS,
      durationMs: parseDuration(values.duration),
      diskCapBytes: parseSize(values['disk-cap'] ?? '5GB'),
      reportEveryMs: parseDuration(values['report-every'] ?? '5m'),
      seed: values.seed === undefined ? undefined : integerOption('--seed', values.seed, 0, 2 ** 31 - 1),
      resultsDir: values.results,
      detectors: detectorList(values.detectors),
      capture: values.capture === undefined ? undefined : captureMode(values.capture),
      secrets: values['no-secrets'] ? false : undefined,
      command: ['hunt', 'soak', ...argv],
      progress: output,
      signal: graceful(),
      onStatus: statusPrinter(output),
    });
    await preflight(output);
    const result = await prepared.execute();
    if (result.error) output.error(result.error, { jsonToo: false });
    printResult(output, result);
    return result.exitCode;
  },
};
