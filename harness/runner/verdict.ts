import { exitCodeFor } from '../errors.ts';
import type { DetectorFailure } from '../observe/detection.ts';
import type { RunOutcome } from '../run/run.ts';
import type { ExpectationResult } from './expectations.ts';

/** What decides how a run ended, gathered once the run's parts are down. */
export interface VerdictInputs {
  /** The disk guard stopped the run (the results disk was nearly full). */
  diskError?: Error;
  /** Whether history.jsonl is whole (a failed write may cut its last line). */
  historyWhole: boolean;
  /** SIGINT/SIGTERM stopped the run. */
  interrupted: boolean;
  /** What the scenario threw, if anything (an abort that cut set-up short is not a failure). */
  failure?: unknown;
  detectorFailures: readonly DetectorFailure[];
  expectations: readonly ExpectationResult[];
}

/**
 * How a run ended, from the most telling cause down: a full disk, an interrupt, an error, a
 * detector that threw (the verdict is then unknown), and only then the expectations. Pure.
 */
export function verdictOf(inputs: VerdictInputs): RunOutcome {
  if (inputs.diskError)
    return { status: 'error', exitCode: 2, complete: inputs.historyWhole, summary: inputs.diskError.message };
  if (inputs.interrupted)
    return {
      status: 'interrupted',
      exitCode: 130,
      complete: true,
      summary: 'interrupted (SIGINT/SIGTERM): stopped gracefully',
    };
  if (inputs.failure !== undefined)
    return {
      status: 'error',
      exitCode: exitCodeFor(inputs.failure),
      complete: false,
      summary: inputs.failure instanceof Error ? inputs.failure.message : String(inputs.failure),
    };
  if (inputs.detectorFailures.length > 0)
    return {
      status: 'error',
      exitCode: 3,
      complete: true,
      summary: `verdict unknown: ${inputs.detectorFailures
        .map((f) => `detector ${f.detector} threw on a ${f.event} event (${f.error})`)
        .join('; ')}; the other detectors ran. This is a bug in hunt.`,
    };
  const unmet = inputs.expectations.filter((result) => !result.ok);
  if (unmet.length === 0)
    return { status: 'passed', exitCode: 0, complete: true, summary: 'every expectation met' };
  return {
    status: 'failed',
    exitCode: 1,
    complete: true,
    summary: `expectation not met: ${unmet.map((result) => `${result.description} (${result.detail})`).join('; ')}`,
  };
}
