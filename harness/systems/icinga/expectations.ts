import { type Expectation, oneIncidentPerNode } from '../../runner/expectations.ts';

/** One incident of `kind` per Icinga master (oneIncidentPerNode for the role 'master'). */
export function oneIncidentPerMaster(
  kind: string,
  options: { evidence?: readonly string[] } = {},
): Expectation {
  return oneIncidentPerNode(kind, { ...options, role: 'master' });
}
