import type { Incident } from '../observe/incidents.ts';

/** What an expectation is judged on: the run's incidents and what the scenario reported. */
export interface RunFacts {
  incidents: readonly Incident[];
  masters: readonly string[];
}

export interface Expectation {
  /** A sentence: what must hold ("one tls-handshake-failed incident per master"). */
  description: string;
  check(facts: RunFacts): { ok: boolean; detail: string };
}

export interface ExpectationResult {
  description: string;
  ok: boolean;
  detail: string;
}

/** Every expectation judged; the verdict passes when all hold. */
export function judge(expectations: readonly Expectation[], facts: RunFacts): ExpectationResult[] {
  return expectations.map((expectation) => ({
    description: expectation.description,
    ...expectation.check(facts),
  }));
}

function describe(incidents: readonly Incident[]): string {
  if (incidents.length === 0) return 'none';
  return incidents.map((i) => `#${i.id} ${i.kind}${i.master ? `@${i.master}` : ''} x${i.count}`).join(', ');
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
 * Exactly one incident of `kind` at each master, each with evidence files (a storm of the same
 * failure is one incident with a count, so "one" is the right number however often it happened).
 */
export function oneIncidentPerMaster(
  kind: string,
  options: { evidence?: readonly string[] } = {},
): Expectation {
  return {
    description: `one ${kind} incident per master, with evidence`,
    check({ incidents, masters }) {
      const ofKind = incidents.filter((incident) => incident.kind === kind);
      const problems: string[] = [];
      for (const master of masters) {
        const mine = ofKind.filter((incident) => incident.master === master);
        if (mine.length !== 1) problems.push(`${master} has ${mine.length}`);
        for (const incident of mine) {
          const wanted = (options.evidence ?? [`log-${master}.txt`]).filter(
            (name) => !incident.evidence.includes(name),
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
