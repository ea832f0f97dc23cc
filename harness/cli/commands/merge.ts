import { join } from 'node:path';
import { ErrorCodes, HuntError } from '../../errors.ts';
import { makeDirectory } from '../../fs-directory.ts';
import { resultsDir } from '../../paths.ts';
import type { Matrix } from '../../report/matrix.ts';
import { compareToBaseline, readMatrixFile } from '../../report/matrix-baseline.ts';
import { matrixOfRuns } from '../../report/matrix-build.ts';
import { renderMatrix, writeMatrix } from '../../report/matrix-render.ts';
import { folderId } from '../../run/run-folder.ts';
import { type MatrixPlan, readPlan } from '../../runner/matrix-plan.ts';
import { parseCommandArgs } from '../args.ts';
import { type Command, showHelp } from '../command.ts';
import { systems } from '../systems.ts';

export const merge: Command = {
  name: 'merge',
  summary: 'combine run folders of one scenario (other machines, CI jobs) into one matrix',
  help: `Usage: hunt merge <run-dir> <run-dir>... [--out <dir>] [--baseline <matrix.json>] [--plan <plan.json>] [--json]

Reads each run folder alone (its incidents re-detected from history.jsonl, as hunt report does)
and writes matrix.md and matrix.json, the same table hunt matrix writes for the same runs. Runs
of one target (a version or an image) are pooled: their steps and incidents add up, their
timings are taken together. The runs must be of one scenario; parameters that differ between
them make a grid (one cell per target and values, as hunt matrix --grid writes).

  --out <dir>          where matrix.md/.json go (default: results/<id>-matrix-<scenario>/)
  --baseline <file>    compare with a saved matrix.json; a regression exits 1
  --plan <file>        the plan the runs' cells came from (hunt matrix --plan): cells with no
                       run among those merged are listed by name (without it, by number)

Exit codes: 0 no regression, 1 a regression against the baseline, 2 bad input.`,
  async run(argv, output) {
    const { values, positionals } = parseCommandArgs('merge', argv, {
      out: { type: 'string' },
      baseline: { type: 'string' },
      plan: { type: 'string' },
    });
    if (values.help) return showHelp(output, merge.help);
    if (positionals.length === 0)
      throw new HuntError(
        ErrorCodes.USAGE,
        'Name the run folders to merge: hunt merge results/<run-a> results/<run-b>',
      );
    let matrix = await matrixOfRuns(positionals, systems);
    if (values.plan !== undefined) matrix = withPlan(matrix, await readPlan(values.plan));
    if (values.baseline !== undefined) {
      matrix = compareToBaseline(matrix, await readMatrixFile(values.baseline));
    }
    const dir = values.out ?? join(resultsDir(), folderId(`matrix-${matrix.scenario}`));
    await makeDirectory(dir);
    const files = await writeMatrix(dir, matrix);
    output.result(matrix, `${renderMatrix(matrix).trimEnd()}\n\nmatrix: ${files.markdown}`);
    return matrix.regressions.length > 0 ? 1 : 0;
  },
};

/**
 * The cells of the plan given that no merged run ran, by name: none of its runs among those
 * merged means every cell of it is missing.
 */
function withPlan(matrix: Matrix, plan: MatrixPlan): Matrix {
  const others = (matrix.missing ?? []).filter((m) => m.plan !== plan.id);
  const ours = matrix.plans?.includes(plan.id)
    ? (matrix.missing ?? []).filter((m) => m.plan === plan.id)
    : plan.cells.map((cell) => ({ plan: plan.id, cell: cell.index }));
  const missing = [...others, ...ours.map((m) => ({ ...m, name: plan.cells[m.cell]?.name }))];
  return { ...matrix, ...(missing.length > 0 ? { missing } : {}) };
}
