import { readFile } from 'node:fs/promises';
import { ErrorCodes, HuntError } from '../errors.ts';
import { mannWhitneyGreater } from '../stats.ts';
import { cellKey, type Matrix, type MatrixCell, type Regression, type Timing } from './matrix.ts';

/** A timing is worse only when the rank test says so and the median grew by more than this. */
export const TIMING_TOLERANCE = 1.2;
/** The rank test's significance level (one-sided). */
export const TIMING_ALPHA = 0.01;

/**
 * Regressions of `current` against `baseline`, target by target: worse beyond the intervals.
 * Incidents: the current rate's lower bound above the baseline's upper bound. Timings (each phase
 * of the steps): a one-sided Mann-Whitney test says the current samples are larger
 * (p < TIMING_ALPHA) and the median grew by more than TIMING_TOLERANCE (a shared machine's noise
 * between runs is not a regression). The rank test reads whole distributions: a phase may be
 * bimodal (a client's reconnect timer), and a median's interval then spans both modes.
 */
export function compareToBaseline(current: Matrix, baseline: Matrix): Matrix {
  const regressions: Regression[] = [];
  for (const cell of current.cells) {
    const before = baseline.cells.find((candidate) => cellKey(candidate) === cellKey(cell));
    if (!before) continue;
    const now = cell.steps?.incidentsPer1000;
    const then = before.steps?.incidentsPer1000;
    if (now && then && now.low > then.high)
      regressions.push({
        target: cellKey(cell),
        measure: `incidents per 1,000 ${cell.steps?.unit}`,
        baseline: `${then.rate} (95% ${then.low}-${then.high})`,
        current: `${now.rate} (95% ${now.low}-${now.high})`,
      });
    for (const [phase, b] of Object.entries(cell.phasesMs ?? {})) {
      const a = before.phasesMs?.[phase];
      if (!a || a.p50 === null || b.p50 === null) continue;
      const p = mannWhitneyGreater(a.samples ?? [], b.samples);
      if (p !== undefined && p < TIMING_ALPHA && b.p50 > a.p50 * TIMING_TOLERANCE)
        regressions.push({
          target: cellKey(cell),
          measure: `${phase} p50 (ms)`,
          baseline: `${a.p50} (95% ${a.p50Low}-${a.p50High}, n ${a.n})`,
          current: `${b.p50} (95% ${b.p50Low}-${b.p50High}, n ${b.n}; rank test p ${p < 0.0001 ? '< 0.0001' : p.toFixed(4)})`,
        });
    }
  }
  return {
    ...current,
    baseline: {
      scenario: baseline.scenario,
      params: baseline.params,
      targets: baseline.cells.map(cellKey),
    },
    regressions,
  };
}

/** A matrix.json read back (a --baseline file): checked enough to compare against. */
export function parseMatrix(text: string, source: string): Matrix {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new HuntError(
      ErrorCodes.BASELINE_INVALID,
      `${source} is not JSON (${(error as Error).message}): a baseline is a matrix.json written by hunt matrix or --save-baseline.`,
    );
  }
  const matrix = value as Partial<Matrix>;
  if (matrix?.kind !== 'handshake-hunter-matrix' || !Array.isArray(matrix.cells))
    throw new HuntError(
      ErrorCodes.BASELINE_INVALID,
      `${source} is not a matrix.json (no "kind": "handshake-hunter-matrix" with cells): write one with --save-baseline.`,
    );
  return { ...matrix, cells: matrix.cells.map(cellOfOldMatrix) } as Matrix;
}

/**
 * A cell as matrix.json wrote it before 2026-12-07, when the only steps with figures were Icinga's
 * and their fields were named by the unit (`reloads`, `incidentsPer1000Reloads`,
 * `rssTrendKbPer1000Reloads`) and the phase (`barrierMs`, `reconnectMs`): read into today's shape,
 * so baselines saved then still compare.
 */
function cellOfOldMatrix(cell: MatrixCell): MatrixCell {
  const old = cell as MatrixCell & Record<string, unknown>;
  const Unit = Object.keys(old)
    .map((key) => /^incidentsPer1000([A-Z]\w*)$/.exec(key)?.[1])
    .find((found) => found !== undefined);
  if (Unit === undefined || cell.phasesMs) return cell;
  const unit = `${Unit.charAt(0).toLowerCase()}${Unit.slice(1)}`;
  const phaseKeys = Object.keys(old).filter((key) => /^[a-z]\w*Ms$/.test(key) && isTiming(old[key]));
  const former = new Set([
    unit,
    'verified',
    `incidentsPer1000${Unit}`,
    `rssTrendKbPer1000${Unit}`,
    ...phaseKeys,
  ]);
  const rest = Object.fromEntries(
    Object.entries(old).filter(([key]) => !former.has(key)),
  ) as unknown as MatrixCell;
  const count = old[unit];
  // A cell of another system counted none of these, and its steps (from status lines) as today.
  if (typeof count !== 'number' || count === 0) return rest;
  return {
    ...rest,
    steps: {
      unit,
      count,
      ok: Number(old.verified),
      incidentsPer1000: (old[`incidentsPer1000${Unit}`] ?? null) as NonNullable<
        MatrixCell['steps']
      >['incidentsPer1000'],
    },
    phasesMs: Object.fromEntries(phaseKeys.map((key) => [key.slice(0, -2), old[key] as Timing])),
    rssTrendKbPer1000Steps: old[`rssTrendKbPer1000${Unit}`] as MatrixCell['rssTrendKbPer1000Steps'],
  };
}

function isTiming(value: unknown): value is Timing {
  return (
    typeof value === 'object' && value !== null && 'p50' in value && Array.isArray((value as Timing).samples)
  );
}

/** A saved matrix.json (a --baseline), read and checked. */
export async function readMatrixFile(path: string): Promise<Matrix> {
  const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new HuntError(
      ErrorCodes.BASELINE_INVALID,
      `Cannot read the baseline ${path} (${error.code}): give a matrix.json written by hunt matrix or --save-baseline.`,
    );
  });
  return parseMatrix(text, path);
}
