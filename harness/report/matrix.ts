import type { AdvisoryFinding } from './run-facts.ts';

/** A timing measure of one cell: median with its 95% interval, and the 99th percentile. */
export interface Timing {
  n: number;
  p50: number | null;
  p50Low: number | null;
  p50High: number | null;
  p99: number | null;
  /** The samples, sorted (at most MAX_TIMING_SAMPLES, evenly thinned): a baseline compares against them. */
  samples: number[];
}

/** One target (an Icinga version or a named image): every run of it, pooled. */
export interface MatrixCell {
  target: string;
  /** The grid's parameters of this cell (those that differ between the matrix's runs). */
  grid?: Record<string, unknown>;
  /** The system under test ('icinga', 'stunnel') and the version its runs report. */
  system?: string | null;
  version?: string | null;
  opensslVersion: string | null;
  runs: Array<{ id: string; status: string }>;
  incidents: number;
  incidentsByKind: Record<string, number>;
  /** Each phase of the steps (`StepFigures.phases`), over those that did their job: systems whose steps leave figures. */
  phasesMs?: Record<string, Timing>;
  /** Least-squares slope of RSS over steps after the warm-up (KB per 1,000 steps): a leak shows as a steady rise. */
  rssTrendKbPer1000Steps?: { node: number | null; harness: number | null };
  /** Systems with a load generator: the median second's completions, timeouts, and the stalls and silences seen (seconds). */
  load?: {
    completedPerSecond: number;
    timeouts: number;
    stallsS: number[];
    silencesS: number[];
  } | null;
  /**
   * The runs' steps in the system's unit, and incidents per 1,000 of them (Wilson 95%: with zero
   * incidents still an upper bound): from their figures where the system reads them (`ok`: those
   * that did their job), else as their status lines counted them (runs that record it).
   */
  steps?: {
    unit: string;
    count: number;
    ok?: number;
    incidentsPer1000: { rate: number; low: number; high: number } | null;
  };
  /** Disruption windows opened, per kind, all nodes and runs together (steps apart). */
  disruptions?: Record<string, number>;
  /** The matrix's unit disruption when it outnumbers the steps (context swaps): rates per 1,000 of them. */
  perDisruption?: DisruptionRates;
  /**
   * Per incident that was probed: whether the failure outlived its cause (the field's "until a
   * restart"), which remedy brought the node back (a reload, or only a restart) and how long it took.
   */
  persistence?: Array<{
    run: string;
    kind: string;
    node: string;
    state: string;
    recoveredAfterMs?: number;
    /** The remedy that recovered it, as the remedy named itself ('restart' in runs before remedies had names). */
    recoveredBy?: string;
  }>;
  /** What the scenario measured (`measure:value`), the median of the cell's runs per name. */
  measures?: Record<string, number>;
  /** Advisories checked in the cell's runs: affected when any run found the target affected. */
  advisories?: AdvisoryFinding[];
}

/** Failures per disruption of one kind: how many disruptions a run took before its first incident. */
export interface DisruptionRates {
  kind: string;
  count: number;
  /** Runs with at least one incident. */
  failedRuns: number;
  /**
   * Failed runs per 1,000 disruptions, Wilson 95%: each disruption one trial, a failed run's
   * counted up to its failure (what came after tested nothing new).
   */
  failuresPer1000: { rate: number; low: number; high: number } | null;
  /** Per run: the disruptions before its first incident, or all of them when none came (censored). */
  toFailure: Array<{ run: string; disruptions: number; failed: boolean }>;
}

export interface Regression {
  target: string;
  measure: string;
  baseline: string;
  current: string;
}

/** matrix.json: derived from run folders alone, so `hunt merge` of the same runs gives the same. */
export interface Matrix {
  kind: 'handshake-hunter-matrix';
  version: 1;
  scenario: string;
  /** The parameters every run shared; those that differ are the grid's, per cell. */
  params: Record<string, unknown>;
  /** The names of the grid's parameters (in the order the cells vary them). */
  grid?: string[];
  /** The disruption the rates count when it outnumbers the steps (the kind most runs had most of). */
  unit?: string;
  cells: MatrixCell[];
  /**
   * Cells of a plan (`hunt run --cell`) with no run among those merged: a job that died. Named
   * when the plan is at hand (`hunt merge --plan`).
   */
  missing?: Array<{ plan: string; cell: number; name?: string }>;
  /** The plans the runs were cells of (`hunt run --cell`), by id. */
  plans?: string[];
  /** Filled by compareToBaseline. */
  baseline?: { scenario: string; params: Record<string, unknown>; targets: string[] };
  regressions: Regression[];
}

/** A cell's name in a baseline comparison: its target and its grid values. */
export function cellKey(cell: { target: string; grid?: Record<string, unknown> }): string {
  const values = Object.entries(cell.grid ?? {}).map(([name, value]) => `${name}=${String(value)}`);
  return [cell.target, ...values].join(' ');
}
