import { parseDuration } from '../../duration.ts';
import { ErrorCodes, HuntError } from '../../errors.ts';
import { renderMatrix } from '../../report/matrix-render.ts';
import {
  type MatrixGrid,
  type MatrixRequest,
  type MatrixTarget,
  planMatrix,
  runMatrix,
} from '../../runner/matrix.ts';
import { writePlan } from '../../runner/matrix-plan.ts';
import { MAX_STEPS } from '../../runner/runner.ts';
import { captureMode, detectorList, integerOption, parseCommandArgs } from '../args.ts';
import { type Command, showHelp } from '../command.ts';
import { graceful } from '../interrupt.ts';
import type { Output } from '../output.ts';
import { scenarioCatalog } from '../scenarios.ts';
import {
  chosenSteps,
  chosenVersion,
  stepOptions,
  systemNames,
  systemOptions,
  systems,
  versionOptionsHelp,
} from '../systems.ts';

export const matrix: Command = {
  name: 'matrix',
  summary: 'one run per version (or image), then a table with intervals: regression checks',
  help: `Usage: ${systems.map((system) => `hunt matrix <${system.name} scenario> --${system.name} ${system.versions.slice(-3).join(',')}`).join('\n       ')}
       hunt matrix <scenario> --image <ref> [--image <ref> ...]
                   [--param name=value ...] [--grid name=v1,v2,... ...] [--repeat <n>]
                   [--steps <n> | --duration <d>] [--seed <n>]
                   [--baseline <matrix.json>] [--save-baseline <file>]
                   [--engines <DOCKER_HOST>,<DOCKER_HOST>...] [--results <dir>] [--json]
       hunt matrix <scenario> ... --plan <plan.json>

Runs the scenario once per target, each as its own \`hunt run\` (its own run folder, report and
captures), all with the same seed and limits, then writes results/<id>-matrix-<scenario>/
matrix.md and matrix.json: per target the steps in the system's unit, incidents by kind,
incidents per 1,000 steps with a 95% Wilson interval (zero incidents still give an upper bound),
and where the system times its steps each phase's p50 (with a 95% interval) and p99 and the
nodes' and the harness's RSS trend per 1,000 steps. The phases: ${systems
    .flatMap((system) =>
      system.stepFigures
        ? [`${system.name}'s ${system.stepUnit}: ${Object.keys(system.stepFigures.phases).join(', ')}`]
        : [],
    )
    .join('; ')}.
When the runs' own disruptions outnumber their steps (race-hunt's context swaps), the table
counts those instead: failed runs per 1,000 of them (Wilson 95%) and, per run, how many came
before its first incident. Advisories a run checked (race-hunt: GHSA-vj39-ww8j-vvx5) get a
column each. A system under steady load gets its stalls and silences.

${versionOptionsHelp('list', 24)}
  --grid <name=v1,v2>   vary a scenario parameter: one cell per value, crossed with the other
                        grids and the targets (--grid load=0,1,2,4,8 --grid rate=10,100)
  --repeat <n>          runs per cell (seeds seed, seed+1, ...: every target sees the same);
                        a cell's runs are pooled
  --baseline <file>     compare with a saved matrix.json: a target whose incident rate or
                        timing median is worse beyond the intervals is a regression (exit 1)
  --save-baseline <f>   also write this matrix to <f>, for later --baseline
  --engines <list>      Docker engines (unix:///..., tcp://host:2376) to spread the cells over,
                        one cell per engine at a time, the engines in parallel
  --plan <file>         check the matrix and write its cells to <file>, running none: a
                        scheduler (a GitHub Actions matrix, a Kubernetes Indexed Job) runs each
                        with hunt run --cell <file> <index>; hunt merge --plan <file> of their
                        run folders makes this table and names the cells missing
  --param, --steps, --duration, --seed, --results, --detectors, --capture, --no-secrets
                        as for hunt run, for every cell

Ctrl-C stops every cell gracefully and writes the matrix of what ran (exit 130).

Exit codes: 0 no regression, 1 a regression against the baseline, 2 bad input (or a cell's),
3 a cell's harness failure, 130 interrupted.`,
  async run(argv, output) {
    const { values, positionals } = parseCommandArgs('matrix', argv, {
      param: { type: 'string', multiple: true },
      grid: { type: 'string', multiple: true },
      repeat: { type: 'string' },
      ...systemOptions,
      image: { type: 'string', multiple: true },
      ...stepOptions,
      duration: { type: 'string' },
      seed: { type: 'string' },
      results: { type: 'string' },
      detectors: { type: 'string' },
      capture: { type: 'string' },
      'no-secrets': { type: 'boolean' },
      baseline: { type: 'string' },
      'save-baseline': { type: 'string' },
      engines: { type: 'string' },
      plan: { type: 'string' },
    });
    if (values.help) return showHelp(output, matrix.help);
    if (positionals.length !== 1)
      throw new HuntError(
        ErrorCodes.USAGE,
        `Name one scenario: hunt matrix <scenario> --<system> <versions> (${systemNames.map((name) => `--${name}`).join(', ')}).`,
      );
    const { version, versionOption } = chosenVersion(values);
    const targets: MatrixTarget[] = [
      ...list(version).map((each) => ({ version: each })),
      ...(values.image ?? []).map((image) => ({ image })),
    ];
    const request: MatrixRequest = {
      scenario: await scenarioCatalog.find(positionals[0] as string),
      params: values.param ?? [],
      grid: (values.grid ?? []).map(gridOption),
      repeat: values.repeat === undefined ? undefined : integerOption('--repeat', values.repeat, 1, 100),
      targets,
      versionOption,
      steps: chosenSteps(values, MAX_STEPS),
      durationMs: values.duration === undefined ? undefined : parseDuration(values.duration),
      seed: values.seed === undefined ? undefined : integerOption('--seed', values.seed, 0, 2 ** 31 - 1),
      resultsDir: values.results,
      detectors: detectorList(values.detectors),
      capture: values.capture === undefined ? undefined : captureMode(values.capture),
      secrets: values['no-secrets'] ? false : undefined,
      baseline: values.baseline,
      saveBaseline: values['save-baseline'],
      engines: values.engines === undefined ? undefined : list(values.engines),
      progress: output,
      signal: graceful(),
    };
    if (values.plan !== undefined) return writeCells(values.plan, request, output);
    const result = await runMatrix(request);
    const failed = result.runs.filter((run) => run.exitCode !== 0 && run.exitCode !== 1);
    const lines = [
      renderMatrix(result.matrix).trimEnd(),
      ...failed.map(
        (run) =>
          `cell ${run.target} broke off (exit ${run.exitCode})${run.error ? `: ${run.error.message}` : ''}`,
      ),
      '',
      `matrix: ${result.files.markdown}`,
    ];
    output.result(
      { ...result.matrix, dir: result.dir, runs: result.runs, exitCode: result.exitCode },
      lines.join('\n'),
    );
    return result.exitCode;
  },
};

/**
 * `--plan`: the matrix checked and its cells written down for a scheduler to run, one
 * `hunt run --cell` each; nothing runs here. What compares and judges comes later, with merge.
 */
async function writeCells(path: string, request: MatrixRequest, output: Output): Promise<number> {
  const option = {
    baseline: '--baseline',
    saveBaseline: '--save-baseline',
    engines: '--engines',
    resultsDir: '--results',
  } as const;
  const later = (Object.keys(option) as Array<keyof typeof option>).filter(
    (name) => request[name] !== undefined,
  );
  if (later.length > 0)
    throw new HuntError(
      ErrorCodes.USAGE,
      `--plan only writes the cells down: leave out ${later.map((name) => option[name]).join(', ')} (each cell's run takes --results; hunt merge --baseline compares the runs later).`,
    );
  const { plan } = await planMatrix(request);
  await writePlan(path, plan);
  const cells = plan.cells.map(({ index, name }) => ({ index, name }));
  output.result(
    { plan: path, id: plan.id, seed: plan.seed, cells },
    [
      `plan ${plan.id}: ${cells.length} cell(s), seed ${plan.seed}, written to ${path}`,
      ...cells.map((cell) => `  ${cell.index}  ${cell.name}`),
      '',
      `Run each cell (on any machine with the images): hunt run --cell ${path} <index>`,
      `(or as a Kubernetes Indexed Job of ${cells.length} completions: JOB_COMPLETION_INDEX), then:`,
      `hunt merge <the cells' run folders> --plan ${path}`,
    ].join('\n'),
  );
  return 0;
}

function gridOption(text: string): MatrixGrid {
  const at = text.indexOf('=');
  const name = text.slice(0, at).trim();
  if (at <= 0 || !name)
    throw new HuntError(
      ErrorCodes.USAGE,
      `--grid ${text}: give a parameter and its values, --grid load=0,1,2.`,
    );
  return { name, values: list(text.slice(at + 1)) };
}

function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}
