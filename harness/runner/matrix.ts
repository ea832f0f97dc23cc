import type { ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { describeAddress, engineAddress } from '../engine/docker-engine.ts';
import { ErrorCodes, HuntError } from '../errors.ts';
import { writeFileAtomic } from '../fs-atomic.ts';
import { makeDirectory } from '../fs-directory.ts';
import { resultsDir } from '../paths.ts';
import { type Progress, silentProgress } from '../progress.ts';
import type { Matrix } from '../report/matrix.ts';
import { compareToBaseline, readMatrixFile } from '../report/matrix-baseline.ts';
import { matrixOfRuns } from '../report/matrix-build.ts';
import { writeMatrix } from '../report/matrix-render.ts';
import { folderId } from '../run/run-folder.ts';
import type { SystemUnderTest, TargetSelection } from '../seam/target.ts';
import { spawnHunt } from './hunt-child.ts';
import { type MatrixPlan, makePlan, writePlan } from './matrix-plan.ts';
import { prepareRun } from './runner.ts';
import type { Scenario } from './scenario.ts';

/** One cell's target: a version of the scenario's system (--icinga) or an image (--image). */
export type MatrixTarget = TargetSelection;

/** A parameter the matrix varies: one cell per value (crossed with the other grids and the targets). */
export interface MatrixGrid {
  name: string;
  values: readonly string[];
}

/** The largest seed a run takes. */
const MAX_SEED = 2 ** 31 - 1;

/** At most this many runs in one matrix (targets x grid values x repeats). */
export const MAX_MATRIX_RUNS = 500;

export interface MatrixRequest {
  scenario: Scenario;
  params?: readonly string[];
  /** Parameters to vary (`--grid load=0,1,2`), crossed with each other and the targets. */
  grid?: readonly MatrixGrid[];
  /** Runs per cell, seeds seed, seed+1, ... (each target sees the same seeds). Default 1. */
  repeat?: number;
  targets: readonly MatrixTarget[];
  /** The option the versions came with (`stunnel` for --stunnel): it must be the scenario's system. */
  versionOption?: string;
  /** Steps per run in the scenario's system's unit (--reloads). */
  steps?: number;
  durationMs?: number;
  /** One seed for every cell, so each version sees the same schedule (default: drawn, recorded). */
  seed?: number;
  resultsDir?: string;
  /** Docker engines (DOCKER_HOST values); one cell per engine at a time. Default: the usual engine. */
  engines?: readonly string[];
  detectors?: readonly string[];
  capture?: 'on' | 'off' | 'optional';
  secrets?: boolean;
  /** A matrix.json to compare against: a target worse beyond the intervals is a regression. */
  baseline?: string;
  /** Where to write this matrix as a future baseline. */
  saveBaseline?: string;
  progress?: Progress;
  signal?: AbortSignal;
}

export interface MatrixCellRun {
  target: string;
  engine: string;
  exitCode: number;
  dir?: string;
  status?: string;
  error?: { code: string; message: string };
}

export interface MatrixResult {
  dir: string;
  matrix: Matrix;
  runs: MatrixCellRun[];
  files: { json: string; markdown: string };
  exitCode: number;
}

/**
 * Checks a matrix request whole (every target with every grid combination, before anything runs)
 * and writes down its cells: the plan `hunt matrix` runs itself, or hands to a scheduler
 * (`--plan`). Repeat by repeat, combination by combination, the targets side by side: a matrix
 * cut short still compares the targets on what ran.
 */
export async function planMatrix(
  request: MatrixRequest,
): Promise<{ plan: MatrixPlan; system: SystemUnderTest | undefined }> {
  if (request.targets.length === 0) {
    const system = request.scenario.system;
    throw new HuntError(
      ErrorCodes.USAGE,
      `A matrix needs targets: --${system.name} ${system.versions.slice(0, 2).join(',')}` +
        `${system.takesImages === false ? '' : ' and/or --image <ref>'} (${request.scenario.name} runs ${system.name}).`,
    );
  }
  const seen = new Set<string>();
  for (const target of request.targets) {
    const name = targetName(target);
    if (seen.has(name)) throw new HuntError(ErrorCodes.USAGE, `${name} is named twice: one cell per target.`);
    seen.add(name);
  }
  const repeat = request.repeat ?? 1;
  if (!Number.isInteger(repeat) || repeat < 1)
    throw new HuntError(ErrorCodes.USAGE, `--repeat is a whole number from 1, not ${repeat}.`);
  // The size first: a cross product of many grids is never built only to be refused.
  const total =
    request.targets.length *
    repeat *
    (request.grid ?? []).reduce((n, g) => n * Math.max(1, g.values.length), 1);
  if (total > MAX_MATRIX_RUNS)
    throw new HuntError(
      ErrorCodes.USAGE,
      `This matrix would be ${total} runs (targets x grid values x repeats); at most ${MAX_MATRIX_RUNS}: split it.`,
    );
  const combos = gridCombinations(request.grid ?? [], request.params ?? []);
  if (request.seed !== undefined && request.seed + repeat - 1 > MAX_SEED)
    throw new HuntError(
      ErrorCodes.USAGE,
      `--seed ${request.seed} with --repeat ${repeat} would pass ${MAX_SEED}: the repeats take seeds ${request.seed} to ${request.seed + repeat - 1}.`,
    );
  let system: SystemUnderTest | undefined;
  for (const target of request.targets)
    for (const combo of combos)
      system = (
        await prepareRun({
          ...request,
          ...target,
          versionOption: 'version' in target ? request.versionOption : undefined,
          params: [...(request.params ?? []), ...combo],
        })
      ).scenario.system;
  const seed = request.seed ?? randomInt(1, MAX_SEED - repeat + 1);
  const cells = Array.from({ length: repeat }, (_, i) =>
    combos.flatMap((combo) =>
      request.targets.map((target) => ({ target, combo, seed: seed + i, repeat: i })),
    ),
  )
    .flat()
    .map((cell, index) => ({
      index,
      name: [targetName(cell.target), ...cell.combo, ...(repeat > 1 ? [`#${cell.repeat + 1}`] : [])].join(
        ' ',
      ),
      args: cellArgs(request, system?.name ?? '', cell),
    }));
  return {
    plan: makePlan({ scenario: scenarioRef(request.scenario), system: system?.name ?? '', seed, cells }),
    system,
  };
}

/**
 * One run of a scenario per target, then matrix.json and matrix.md. Each cell is a `hunt run
 * --cell` child process of the matrix's plan (its own engine connection, its own signals, its own
 * run folder, exactly what a scheduler's job runs), one at a time per engine, the engines in
 * parallel. Exit: 130 interrupted, 3 or 2 when a cell broke, 1 on a regression against the
 * baseline, 0 otherwise.
 */
export async function runMatrix(request: MatrixRequest): Promise<MatrixResult> {
  const progress = request.progress ?? silentProgress;
  const { plan, system } = await planMatrix(request);
  const engines = (request.engines?.length ? request.engines : [undefined]).map((engine) => {
    if (engine === undefined) return { env: {}, name: describeAddress(engineAddress()) };
    return { env: { DOCKER_HOST: engine }, name: describeAddress(engineAddress({ DOCKER_HOST: engine })) };
  });
  const baseline = request.baseline === undefined ? undefined : await readMatrixFile(request.baseline);
  if (request.saveBaseline !== undefined) {
    const folder = dirname(resolve(request.saveBaseline));
    if (!(await stat(folder).catch(() => undefined))?.isDirectory())
      throw new HuntError(ErrorCodes.USAGE, `--save-baseline: the folder ${folder} does not exist.`);
  }

  const root = request.resultsDir ?? resultsDir();
  const dir = join(root, folderId(`matrix-${request.scenario.name}`));
  await makeDirectory(dir).catch((error: NodeJS.ErrnoException) => {
    throw new HuntError(
      ErrorCodes.RESULTS_UNWRITABLE,
      `Cannot create ${dir} (${error.code}): choose a writable folder with --results.`,
    );
  });
  const planPath = join(dir, 'plan.json');
  await writePlan(planPath, plan);
  progress.step(
    `matrix ${request.scenario.name}: ${request.targets.map(targetName).join(', ')} (seed ${plan.seed}) on ${engines
      .map((engine) => engine.name)
      .join(', ')}; results in ${dir}`,
  );

  const queue = [...plan.cells];
  const runs: MatrixCellRun[] = [];
  const children = new Set<ChildProcess>();
  const onAbort = () => {
    queue.length = 0;
    for (const child of children) child.kill('SIGINT');
  };
  request.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await Promise.all(
      engines.map(async (engine) => {
        for (let cell = queue.shift(); cell; cell = queue.shift()) {
          const args = ['run', '--cell', planPath, String(cell.index), '--results', root, '--json'];
          const child = spawnHunt(args, engine.env);
          children.add(child);
          runs.push(await followCell(child, cell.name, engine.name, progress));
          children.delete(child);
        }
      }),
    );
  } finally {
    request.signal?.removeEventListener('abort', onAbort);
  }

  const dirs = runs.flatMap((run) => (run.dir ? [run.dir] : []));
  const own = dirs.length > 0 ? await matrixOfRuns(dirs, system ? [system] : []) : emptyMatrix(request);
  const matrix = baseline ? compareToBaseline(own, baseline) : own;
  const files = await writeMatrix(dir, matrix);
  await writeFileAtomic(join(dir, 'runs.json'), `${JSON.stringify(runs, null, 2)}\n`);
  if (request.saveBaseline !== undefined)
    await writeFileAtomic(request.saveBaseline, `${JSON.stringify(own, null, 2)}\n`);

  const worst = Math.max(
    0,
    ...runs.map((run) => (run.exitCode === 1 || run.exitCode === 0 ? 0 : run.exitCode)),
  );
  const exitCode = request.signal?.aborted ? 130 : worst > 0 ? worst : matrix.regressions.length > 0 ? 1 : 0;
  return { dir, matrix, runs, files, exitCode };
}

export function targetName(target: MatrixTarget): string {
  return 'image' in target ? target.image : target.version;
}

/**
 * The grid's combinations as `name=value` lists (one empty list without a grid). A grid
 * parameter also given with --param, or named twice, or with no values, is refused.
 */
export function gridCombinations(grid: readonly MatrixGrid[], params: readonly string[]): string[][] {
  const names = new Set<string>();
  for (const { name, values } of grid) {
    if (names.has(name))
      throw new HuntError(ErrorCodes.USAGE, `--grid ${name} is given twice: list its values once.`);
    names.add(name);
    if (values.length === 0)
      throw new HuntError(ErrorCodes.USAGE, `--grid ${name} has no values: --grid ${name}=a,b,c.`);
    if (new Set(values).size !== values.length)
      throw new HuntError(ErrorCodes.USAGE, `--grid ${name} names a value twice: ${values.join(',')}.`);
    if (params.some((param) => param.split('=')[0]?.trim() === name))
      throw new HuntError(
        ErrorCodes.USAGE,
        `${name} is both a --param and a --grid: give it once (--grid varies it per cell).`,
      );
  }
  return grid.reduce<string[][]>(
    (combos, { name, values }) =>
      combos.flatMap((combo) => values.map((value) => [...combo, `${name}=${value}`])),
    [[]],
  );
}

interface QueuedCell {
  target: MatrixTarget;
  combo: readonly string[];
  seed: number;
}

/** A cell's `hunt run` arguments, without --results and --json (whoever runs it adds those). */
function cellArgs(request: MatrixRequest, system: string, cell: QueuedCell): string[] {
  const { target, combo, seed } = cell;
  const args = ['run', scenarioRef(request.scenario), '--seed', String(seed)];
  for (const param of [...(request.params ?? []), ...combo]) args.push('--param', param);
  if ('image' in target) args.push('--image', target.image);
  else args.push(`--${system}`, target.version);
  if (request.steps !== undefined) args.push('--steps', String(request.steps));
  if (request.durationMs !== undefined) args.push('--duration', `${Math.round(request.durationMs / 1000)}s`);
  if (request.detectors !== undefined)
    args.push('--detectors', request.detectors.length === 0 ? 'none' : request.detectors.join(','));
  if (request.capture !== undefined) args.push('--capture', request.capture);
  if (request.secrets === false) args.push('--no-secrets');
  return args;
}

/** Passes a cell's progress on (prefixed) and reads its one JSON result. */
async function followCell(
  child: ChildProcess,
  target: string,
  engine: string,
  progress: Progress,
): Promise<MatrixCellRun> {
  let stdout = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    // Bounded: a run's result document is a few KB; anything past 4 MB is not one.
    if (stdout.length < 4 * 1024 * 1024) stdout += chunk.toString();
  });
  const lines = createInterface({ input: child.stderr as NodeJS.ReadableStream, crlfDelay: Infinity });
  lines.on('line', (line) => {
    const text = line.replace(/^==> /, '').trim();
    if (text) progress.detail(`[${target}] ${text.slice(0, 300)}`);
  });
  const exitCode = await new Promise<number>((resolve) => {
    child.on('error', () => resolve(3));
    child.on('close', (code) => resolve(code ?? 130));
  });
  let result: { dir?: string; status?: string; error?: { code: string; message: string } } = {};
  try {
    result = JSON.parse(stdout) as typeof result;
  } catch {
    // No result document: the error went to stderr (shown above).
  }
  progress.step(
    `${target}: ${result.status ?? 'no run'} (exit ${exitCode})${result.dir ? ` ${result.dir}` : ''}`,
  );
  return { target, engine, exitCode, dir: result.dir, status: result.status, error: result.error };
}

/** What a cell's `hunt run` is given: the scenario's name, or the file it was given as. */
function scenarioRef(scenario: Scenario): string {
  return scenario.file ?? scenario.name;
}

function emptyMatrix(request: MatrixRequest): Matrix {
  return {
    kind: 'handshake-hunter-matrix',
    version: 1,
    scenario: request.scenario.name,
    params: {},
    cells: [],
    regressions: [],
  };
}
