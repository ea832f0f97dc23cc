import { resolve } from 'node:path';
import { parseDuration } from '../../duration.ts';
import { preflight } from '../../engine/preflight.ts';
import { ErrorCodes, HuntError } from '../../errors.ts';
import { readRunManifest, targetOf } from '../../run/manifest.ts';
import { cellOf, readPlan } from '../../runner/matrix-plan.ts';
import { describeParam } from '../../runner/params.ts';
import { MAX_STEPS, prepareRun, type RunRequest } from '../../runner/runner.ts';
import { describeTarget, type Scenario } from '../../runner/scenario.ts';
import { captureMode, detectorList, integerOption, parseCommandArgs } from '../args.ts';
import { type Command, showHelp } from '../command.ts';
import { graceful } from '../interrupt.ts';
import { printResult, statusPrinter } from '../run-output.ts';
import { scenarioCatalog } from '../scenarios.ts';
import {
  chosenSteps,
  chosenVersion,
  stepOptions,
  stepsHelp,
  systemNames,
  systemOptions,
  versionOptionsHelp,
} from '../systems.ts';

export const run: Command = {
  name: 'run',
  summary: 'run a scenario (a hunt) and leave a report: hunt run <scenario>',
  help: `Usage: hunt run <scenario> [--param name=value ...] [${systemNames.map((name) => `--${name} <version>`).join(' | ')} | --image <ref>]
                [--steps <n> | --duration <30m>] [--seed <n>] [--results <dir>]
                [--detectors <a,b> | --detectors none] [--capture on|off|optional]
                [--no-secrets] [--json]
       hunt run --replay <run-dir> [--results <dir>] [--json]
       hunt run --cell <plan.json> [<index>] [--results <dir>] [--json]

Runs one scenario in a new run folder (results/<run-id>/): starts the system, takes the steps,
records everything in history.jsonl, turns anomalies into incidents, judges the scenario's
expectations and writes report.md, summary.json and timeline.svg/.png. See the scenarios and
their parameters with: hunt list

  --param name=value  a scenario parameter (repeat for more); hunt list shows names and ranges
${versionOptionsHelp('version', 22)}
${stepsHelp}
  --duration <d>      stop after this long (90s, 30m, 8h), whichever of the two comes first
  --seed <n>          the seed every random choice derives from (default: random, recorded)
  --results <dir>     where the run folder goes (default results/, or HH_RESULTS_DIR)
  --detectors <list>  only these detectors (none: no detection at all)
  --capture <mode>    packet captures of the nodes, kept per incident as decryptable pcapng:
                      on (default), off, or optional (go on without them where a node cannot)
  --no-secrets        keep captures without the TLS secrets embedded (they are the run's own
                      test keys, so on by default)
  --replay <run-dir>  the same scenario, parameters, target, limits and seed as that run, and its
                      faults after the same anchors (read from its history.jsonl)
  --cell <plan.json>  one cell of a plan written by hunt matrix ... --plan, exactly as planned;
                      the index follows it, or comes from JOB_COMPLETION_INDEX (a Kubernetes
                      Indexed Job); hunt merge of the cells' run folders makes the matrix

Ctrl-C stops within seconds (the step in progress stops waiting), removes the containers and writes the report (exit 130);
a second Ctrl-C quits at once (then: hunt clean).

Exit codes: 0 every expectation met, 1 an expectation not met (an unexpected incident, or an
expected one missing), 2 bad input,
3 harness failure, 130 interrupted.`,
  async run(argv, output) {
    const { values, positionals } = parseCommandArgs('run', argv, runOptions);
    if (values.help && positionals[0] !== undefined && values.cell === undefined)
      return showHelp(output, scenarioHelp(await scenarioCatalog.find(positionals[0])));
    if (values.help) return showHelp(output, run.help);
    const asked = values.cell
      ? await cellRequest(values.cell, positionals, values)
      : values.replay
        ? await replayRequest(values.replay, positionals, values)
        : requestOf(values, positionals);
    const request: RunRequest = { ...asked, scenario: await scenarioCatalog.find(asked.scenario) };
    request.resultsDir = values.results ?? request.resultsDir;
    if (values.capture !== undefined) request.capture = captureMode(values.capture);
    if (values['no-secrets']) request.secrets = false;
    request.command = ['hunt', 'run', ...argv];
    request.progress = output;
    request.signal = graceful();
    request.onStatus = statusPrinter(output);
    const prepared = await prepareRun(request);
    await preflight(output);
    const result = await prepared.execute();
    // With --json the error also goes into the one result document (stdout stays one JSON value).
    if (result.error) output.error(result.error, { jsonToo: false });
    printResult(output, result);
    return result.exitCode;
  },
};

const runOptions = {
  param: { type: 'string', multiple: true },
  ...systemOptions,
  image: { type: 'string' },
  ...stepOptions,
  duration: { type: 'string' },
  seed: { type: 'string' },
  results: { type: 'string' },
  detectors: { type: 'string' },
  replay: { type: 'string' },
  cell: { type: 'string' },
  capture: { type: 'string' },
  'no-secrets': { type: 'boolean' },
} as const;

type RunValues = ReturnType<typeof parseCommandArgs<typeof runOptions>>['values'];

/** A request as asked for: the scenario by name (or file), found before the run is prepared. */
type AskedRun = Omit<RunRequest, 'scenario'> & { scenario: string };

/** The request the options ask for (a scenario with its parameters, target and limits). */
function requestOf(values: RunValues, positionals: string[]): AskedRun {
  return {
    scenario: scenarioName(positionals),
    params: values.param ?? [],
    ...chosenVersion(values),
    image: values.image,
    steps: chosenSteps(values, MAX_STEPS),
    durationMs: values.duration === undefined ? undefined : parseDuration(values.duration),
    seed: values.seed === undefined ? undefined : integerOption('--seed', values.seed, 0, 2 ** 31 - 1),
    detectors: detectorList(values.detectors),
  };
}

/**
 * One cell of a plan (`hunt matrix ... --plan`), exactly as planned: its index given, or the
 * scheduler's (JOB_COMPLETION_INDEX). Only where the run folder goes may differ.
 */
async function cellRequest(
  path: string,
  positionals: string[],
  values: Record<string, unknown>,
): Promise<AskedRun> {
  refuseOthers('--cell runs a planned cell exactly', positionals.slice(1), values, [
    'replay',
    'capture',
    'no-secrets',
  ]);
  const plan = await readPlan(path);
  const cell = cellOf(plan, positionals[0], path);
  const parsed = parseCommandArgs('run', cell.args.slice(1), runOptions);
  const request = requestOf(parsed.values, parsed.positionals);
  if (parsed.values.capture !== undefined) request.capture = captureMode(parsed.values.capture);
  if (parsed.values['no-secrets']) request.secrets = false;
  request.plan = { id: plan.id, cell: cell.index, cells: plan.cells.length, name: cell.name };
  return request;
}

/** A run given whole (a replay, a planned cell) takes no scenario, target or limits besides. */
function refuseOthers(
  what: string,
  positionals: string[],
  values: Record<string, unknown>,
  more: readonly string[] = [],
): void {
  const given = [
    'param',
    ...systemNames,
    'image',
    ...Object.keys(stepOptions),
    'duration',
    'seed',
    'detectors',
    ...more,
  ].filter((name) => values[name] !== undefined);
  if (positionals.length > 0 || given.length > 0)
    throw new HuntError(
      ErrorCodes.USAGE,
      `${what}: leave out ${[...positionals, ...given.map((n) => `--${n}`)].join(', ')}.`,
    );
}

function scenarioName(positionals: string[]): string {
  if (positionals.length !== 1)
    throw new HuntError(
      ErrorCodes.USAGE,
      positionals.length === 0
        ? 'Name a scenario: hunt run <scenario>. See them with: hunt list'
        : `One scenario at a time, not ${positionals.join(' ')}. See: hunt run --help`,
    );
  return positionals[0] as string;
}

/** A request that repeats a run: its scenario, parameters, target, limits, detectors and seed. */
async function replayRequest(
  dir: string,
  positionals: string[],
  values: Record<string, unknown>,
): Promise<AskedRun> {
  refuseOthers('--replay repeats a run exactly', positionals, values);
  const meta = await readRunManifest(dir);
  const target = targetOf(meta);
  const limits = meta.limits ?? {};
  const capture = meta.capture ?? {};
  if (!meta.scenario || !Number.isInteger(meta.seed))
    throw new HuntError(
      ErrorCodes.RUN_NOT_FOUND,
      `${dir}/run.json names no scenario and seed: it was not made by hunt run.`,
    );
  return {
    scenario: meta.scenario,
    params: meta.params,
    version: target.version,
    image: target.image,
    steps: limits.steps,
    durationMs: limits.durationMs ?? undefined,
    seed: meta.seed,
    detectors: meta.detectors,
    capture: capture.mode,
    secrets: capture.secrets,
    replayOf: resolve(dir),
  };
}

/** `hunt run <scenario> --help`: the scenario's story, target, parameters and expectations. */
function scenarioHelp(scenario: Scenario): string {
  return [
    `Usage: hunt run ${scenario.name} [--param name=value ...] [--${scenario.system.name} <version> | --image <ref>]`,
    '         [--steps <n> | --duration <d>] [--seed <n>] [--results <dir>] [--json]',
    '',
    `${scenario.name}: ${scenario.summary}`,
    ...(scenario.story ? ['', scenario.story] : []),
    '',
    `Target:      ${describeTarget(scenario)}`,
    'Parameters:',
    ...(Object.keys(scenario.params).length === 0
      ? ['  (none)']
      : Object.entries(scenario.params).map(([name, spec]) => `  ${describeParam(name, spec)}`)),
    `Steps:       ${scenario.defaultSteps ?? 1} ${scenario.system.stepUnit} by default (--steps)`,
    `Expects:     ${scenario.expectations.map((e) => e.description).join('; ')}`,
    '',
    'The options every run takes: hunt run --help',
  ].join('\n');
}
