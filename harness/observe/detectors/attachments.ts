import { defineDetector } from '../detector.ts';

/**
 * What reactors learnt about an incident after it opened (an API snapshot, a persistence probe,
 * the restart remedy), recorded as `incident-evidence` and `incident-finding` events: attached to
 * that incident, so an offline re-check has them too.
 */
export default defineDetector<Record<string, never>>({
  name: 'attachments',
  summary: 'evidence and findings the reactors recorded for an incident (API snapshots, persistence probes)',
  kinds: [],
  init: () => ({}),
  step(_state, event) {
    if (typeof event.incident !== 'number') return [];
    // Files a reactor wrote into the incident's folder itself (the flight recorder's captures).
    if (event.type === 'incident-evidence' && Array.isArray(event.files))
      return [
        {
          kind: 'evidence',
          at: event.at,
          summary: 'evidence files',
          attachTo: event.incident,
          evidenceFiles: event.files.map(String),
        },
      ];
    if (event.type === 'incident-evidence' && typeof event.name === 'string')
      return [
        {
          kind: 'evidence',
          at: event.at,
          summary: 'evidence',
          attachTo: event.incident,
          evidence: { [event.name]: String(event.content ?? '') },
        },
      ];
    if (event.type === 'incident-finding' && typeof event.findings === 'object' && event.findings !== null)
      return [
        {
          kind: 'finding',
          at: event.at,
          summary: 'finding',
          attachTo: event.incident,
          findings: event.findings as Record<string, unknown>,
        },
      ];
    return [];
  },
});
