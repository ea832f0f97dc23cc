import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { ErrorCodes, HuntError } from '../errors.ts';
import { writeFileAtomic } from '../fs-atomic.ts';

/**
 * A matrix's cells written down before any of them runs, so that a scheduler people already run
 * (a GitHub Actions matrix, a Kubernetes Indexed Job) can run them, one `hunt run --cell` each,
 * on as many machines as it has. `hunt matrix` runs its own cells the same way, so a matrix on
 * one machine and the same plan spread over many give the same runs.
 */
export interface MatrixPlan {
  kind: 'handshake-hunter-plan';
  version: 1;
  /** The same cells give the same id (a hash of them): runs name the plan they belong to. */
  id: string;
  scenario: string;
  /** The scenario's system (`icinga`, `stunnel`). */
  system: string;
  /** The first seed; repeats take seed + 1, ... */
  seed: number;
  cells: PlannedCell[];
}

export interface PlannedCell {
  index: number;
  /** What tells it apart in a table: target, grid values, repeat (`2.13.6 load=2 #2`). */
  name: string;
  /** The `hunt run` arguments of this cell, without --results and --json (the runner adds those). */
  args: string[];
}

/** Where a run came from when it ran a plan's cell (run.json's `plan`). */
export interface PlanCellRef {
  id: string;
  cell: number;
  cells: number;
  name: string;
}

/** A plan from its cells: the id is the hash of what the cells run. */
export function makePlan(fields: Omit<MatrixPlan, 'kind' | 'version' | 'id'>): MatrixPlan {
  const id = createHash('sha256')
    .update(JSON.stringify([fields.scenario, fields.cells.map((cell) => cell.args)]))
    .digest('hex')
    .slice(0, 12);
  return { kind: 'handshake-hunter-plan', version: 1, id: `${fields.scenario}-${id}`, ...fields };
}

export async function writePlan(path: string, plan: MatrixPlan): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(plan, null, 2)}\n`).catch((error: NodeJS.ErrnoException) => {
    throw new HuntError(
      ErrorCodes.RESULTS_UNWRITABLE,
      `Cannot write the plan ${path} (${error.code}): choose a writable path for --plan.`,
    );
  });
}

/** A plan file read back and checked: what a cell's job runs must be exactly what was planned. */
export async function readPlan(path: string): Promise<MatrixPlan> {
  const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new HuntError(
      ErrorCodes.PLAN_INVALID,
      `Cannot read the plan ${path} (${error.code}): write one with hunt matrix ... --plan <file>.`,
    );
  });
  let plan: Partial<MatrixPlan>;
  try {
    plan = JSON.parse(text) as Partial<MatrixPlan>;
  } catch (error) {
    throw new HuntError(
      ErrorCodes.PLAN_INVALID,
      `${path} is not JSON (${(error as Error).message}): a plan is written by hunt matrix ... --plan <file>.`,
    );
  }
  const cellsOk =
    Array.isArray(plan.cells) &&
    plan.cells.length > 0 &&
    plan.cells.every(
      (cell, index) =>
        cell?.index === index &&
        typeof cell.name === 'string' &&
        Array.isArray(cell.args) &&
        cell.args[0] === 'run' &&
        cell.args.every((arg) => typeof arg === 'string'),
    );
  if (plan?.kind !== 'handshake-hunter-plan' || plan.version !== 1 || typeof plan.id !== 'string' || !cellsOk)
    throw new HuntError(
      ErrorCodes.PLAN_INVALID,
      `${path} is not a plan of hunt's (kind handshake-hunter-plan, version 1, cells numbered from 0 with their hunt run arguments): write one with hunt matrix ... --plan <file>.`,
    );
  return plan as MatrixPlan;
}

/**
 * The cell a job runs: its index given, or the scheduler's (Kubernetes Indexed Jobs set
 * JOB_COMPLETION_INDEX in each pod).
 */
export function cellOf(plan: MatrixPlan, index: string | undefined, path: string): PlannedCell {
  const given = index ?? process.env.JOB_COMPLETION_INDEX;
  if (given === undefined)
    throw new HuntError(
      ErrorCodes.USAGE,
      `Which cell of ${path}? Give its index (hunt run --cell ${path} 0), or run it as an indexed job (JOB_COMPLETION_INDEX).`,
    );
  const cell = /^\d+$/.test(given) ? plan.cells[Number(given)] : undefined;
  if (!cell)
    throw new HuntError(ErrorCodes.USAGE, `${path} has cells 0 to ${plan.cells.length - 1}, not "${given}".`);
  return cell;
}
