import { type Incident, standaloneIncidents } from '../observe/incidents.ts';
import type { HistoryEvent } from '../run/history.ts';

/** What an expectation is judged on: the run's incidents and the nodes of its targets. */
export interface RunFacts {
  incidents: readonly Incident[];
  nodes: readonly { name: string; role: string }[];
  /** The run's scenario parameters (an expectation may depend on one). */
  params?: Readonly<Record<string, number | string>>;
  /** The run's steps in order, as its history tells them (none where its system counts none). */
  steps?: readonly StepSpan[];
  /** What a step is, plural (the system's word: `episodes`). */
  stepUnit?: string;
  /** When the run's incident ledger was full (MAX_INCIDENTS): what began after is not all known. */
  incidentsFullAt?: string;
}

/** One step of a run: when it began (ms since the epoch) and whether it ended. */
export interface StepSpan {
  begunAt: number;
  done: boolean;
}

/** Steps a run's facts keep; a longer run's later steps are judged with the last one kept. */
export const MAX_JUDGED_STEPS = 100_000;

/**
 * The steps of a run from its history, in the order they began, by the system's `stepOf`.
 * A step ends with the first `done` after it began.
 */
export class StepSpans {
  readonly spans: StepSpan[] = [];
  #open = 0;
  readonly #stepOf: (event: HistoryEvent) => 'begun' | 'done' | undefined;

  constructor(stepOf: (event: HistoryEvent) => 'begun' | 'done' | undefined) {
    this.#stepOf = stepOf;
  }

  see(event: HistoryEvent): void {
    const step = this.#stepOf(event);
    if (step === 'begun' && this.spans.length < MAX_JUDGED_STEPS)
      this.spans.push({ begunAt: Date.parse(event.at), done: false });
    else if (step === 'done') {
      const span = this.spans[this.#open];
      if (span) {
        span.done = true;
        this.#open++;
      }
    }
  }
}

export interface Expectation {
  /** A sentence: what must hold ("one tls-handshake-failed incident per master"). */
  description: string;
  /** The verdict; a description here replaces the general one (the case a parameter chose). */
  check(facts: RunFacts): { ok: boolean; detail: string; description?: string };
}

export interface ExpectationResult {
  description: string;
  ok: boolean;
  detail: string;
}

/**
 * Every expectation judged; the verdict passes when all hold. Incidents that are another's part
 * (the handshake failures a signature counts) are judged as that one, not on their own.
 */
export function judge(expectations: readonly Expectation[], facts: RunFacts): ExpectationResult[] {
  const judged = { ...facts, incidents: standaloneIncidents(facts.incidents) };
  return expectations.map((expectation) => ({
    description: expectation.description,
    ...expectation.check(judged),
  }));
}

function describe(incidents: readonly Incident[]): string {
  if (incidents.length === 0) return 'none';
  return incidents.map((i) => `#${i.id} ${i.kind}${i.node ? `@${i.node}` : ''} x${i.count}`).join(', ');
}

/** The hunt found nothing: no incident of any kind (or none but the kinds allowed). */
export function noIncident(options: { except?: readonly string[] } = {}): Expectation {
  const allowed = new Set(options.except ?? []);
  return {
    description: allowed.size > 0 ? `no incident except ${[...allowed].join(', ')}` : 'no incident',
    check({ incidents }) {
      const found = incidents.filter((incident) => !allowed.has(incident.kind));
      return { ok: found.length === 0, detail: `incidents: ${describe(found)}` };
    },
  };
}

/**
 * Exactly one incident of `kind` at each node of `role` (default: every node), each with evidence
 * files (a storm of the same failure is one incident with a count, so "one" is the right number
 * however often it happened). The evidence named by default is the node's log excerpt.
 */
export function oneIncidentPerNode(
  kind: string,
  options: { role?: string; nodes?: readonly string[]; evidence?: readonly string[] } = {},
): Expectation {
  const which = options.nodes
    ? `on ${options.nodes.join(', ')} and none elsewhere`
    : `per ${options.role ?? 'node'}`;
  const withEvidence = options.evidence?.length === 0 ? '' : ', with evidence';
  const chosen = (node: { name: string; role: string }) =>
    options.nodes ? options.nodes.includes(node.name) : !options.role || node.role === options.role;
  return {
    description: `one ${kind} incident ${which}${withEvidence}`,
    check({ incidents, nodes }) {
      const ofKind = incidents.filter((incident) => incident.kind === kind);
      const problems: string[] = [];
      if (options.nodes) {
        const elsewhere = ofKind.filter((incident) => !options.nodes?.includes(incident.node ?? ''));
        if (elsewhere.length > 0) problems.push(`also on ${elsewhere.map((i) => i.node ?? '?').join(', ')}`);
      }
      for (const { name } of nodes.filter(chosen)) {
        const mine = ofKind.filter((incident) => incident.node === name);
        if (mine.length !== 1) problems.push(`${name} has ${mine.length}`);
        for (const incident of mine) {
          const wanted = (options.evidence ?? [`log-${name}.txt`]).filter(
            (file) => !incident.evidence.includes(file),
          );
          if (wanted.length > 0) problems.push(`#${incident.id} lacks ${wanted.join(', ')}`);
        }
      }
      return {
        ok: problems.length === 0,
        detail:
          problems.length === 0
            ? `found: ${describe(ofKind)}`
            : `${problems.join('; ')} (found: ${describe(ofKind)})`,
      };
    },
  };
}

/**
 * Expectations that depend on a parameter's value: `cause=none` expects no incident, another
 * cause its stall. A value with no case expects nothing. Judged as one expectation: all of the
 * case's must hold.
 */
export function dependingOn(param: string, cases: Record<string, readonly Expectation[]>): Expectation {
  return {
    description: Object.entries(cases)
      .map(
        ([value, list]) => `${param}=${value}: ${list.map((e) => e.description).join(' and ') || 'nothing'}`,
      )
      .join('; '),
    check(facts) {
      const value = String(facts.params?.[param] ?? '');
      const results = judge(cases[value] ?? [], facts);
      // The verdict names the chosen case only: the others were never in play.
      const { ok, detail } = together(results);
      return {
        ok,
        description: `${param}=${value}: ${results.map((r) => r.description).join(' and ') || 'nothing expected'}`,
        detail: detail || 'nothing expected',
      };
    },
  };
}

/**
 * Expectations judged on each step's incidents alone: a soak of 74 freeze episodes must show a
 * stall in every episode, which "one stall in the run" cannot say. A step's incidents are those
 * first seen from its start to the next step's start (any before the first step count with the
 * first). A step the run's end cut short is not judged: a soak's duration ends mid-episode. A run
 * whose history tells no steps is judged as one.
 */
export function eachStep(...expectations: readonly Expectation[]): Expectation {
  const what = expectations.map((e) => e.description).join(' and ');
  return {
    description: `in each step: ${what}`,
    check(facts) {
      const steps = facts.steps ?? [];
      const unit = facts.stepUnit ?? 'steps';
      if (steps.length === 0) {
        const results = judge(expectations, facts);
        return {
          ...together(results),
          description: `in the run (no ${unit} told): ${results.map((r) => r.description).join(' and ')}`,
        };
      }
      const byStep: Incident[][] = steps.map(() => []);
      for (const incident of facts.incidents) {
        (byStep[stepAt(steps, Date.parse(incident.firstSeen))] as Incident[]).push(incident);
      }
      // A step not over when the ledger filled may have incidents it does not know of: not judged.
      const fullAt =
        facts.incidentsFullAt === undefined ? Number.POSITIVE_INFINITY : Date.parse(facts.incidentsFullAt);
      const known = steps.filter(
        (_, index) => (steps[index + 1]?.begunAt ?? Number.POSITIVE_INFINITY) <= fullAt,
      ).length;
      const judged = steps.flatMap((step, index) => (step.done && index < known ? [index] : []));
      const failed: string[] = [];
      let description = what;
      for (const index of judged) {
        const results = judge(expectations, { ...facts, incidents: byStep[index] as Incident[] });
        description = results.map((r) => r.description).join(' and ');
        const notMet = results.filter((r) => !r.ok);
        if (notMet.length > 0) failed.push(`#${index + 1}: ${notMet.map((r) => r.detail).join('; ')}`);
      }
      const unknown = steps.length - known;
      const cut = known - judged.length;
      const singular = unit.replace(/s$/, '');
      return {
        ok: judged.length > 0 && failed.length === 0,
        description: `in each of the ${unit}: ${description}`,
        detail:
          `${judged.length - failed.length} of ${judged.length} ${unit} met` +
          (cut > 0 ? ` (${cut} cut short by the run's end, not judged)` : '') +
          (unknown > 0
            ? ` (${unknown} not over when the run's incidents reached their cap, not judged)`
            : '') +
          (failed.length > 0
            ? `; NOT MET in ${singular} ${failed.slice(0, 5).join(', ')}${failed.length > 5 ? `, and ${failed.length - 5} more` : ''}`
            : ''),
      };
    },
  };
}

/** The index of the last step begun by `at` (0 before the first): steps are in order. */
function stepAt(steps: readonly StepSpan[], at: number): number {
  let low = 0;
  let high = steps.length - 1;
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if ((steps[middle] as StepSpan).begunAt <= at) low = middle;
    else high = middle - 1;
  }
  return low;
}

/** Expectations judged together: all must hold; the details of those that did not say so. */
function together(results: readonly ExpectationResult[]): { ok: boolean; detail: string } {
  return {
    ok: results.every((result) => result.ok),
    detail: results.map((r) => (r.ok ? r.detail : `NOT MET: ${r.detail}`)).join('; '),
  };
}
