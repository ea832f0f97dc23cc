import { defineDetector } from '../../../observe/detector.ts';

/**
 * What the storm recorded about its own reloads: a reload whose barrier failed, a master that
 * went down (one incident per master however often it is tried), and steps after which not
 * every endpoint came back within the deadline (named in the evidence).
 */
export default defineDetector<Record<string, never>>({
  name: 'reload-outcomes',
  summary: "the storm's reloads: failed barriers, masters gone, endpoints not back by the deadline",
  kinds: ['reload-failed', 'master-down', 'reconnect-timeout'],
  reads: ['reload:*'],
  init: () => ({}),
  step(_state, event) {
    if (event.source !== 'reload') return [];
    const master = typeof event.master === 'string' ? event.master : undefined;
    if (event.type === 'reload-failed') {
      const error = String(event.error ?? 'unknown error');
      const down = event.masterDown === true;
      return [
        {
          kind: down ? 'master-down' : 'reload-failed',
          at: event.at,
          node: master,
          reason: down ? 'container gone' : error.split('\n')[0],
          summary: down
            ? `${master} is not running any more (step ${event.step})`
            : `reload of ${master} failed: ${error.split('\n')[0]}`,
          evidence: { 'error.txt': `${error}\n` },
          dedupKey: down ? `master-down|${master}` : undefined,
        },
      ];
    }
    if (event.type === 'reconnect-timeout') {
      const missing = Array.isArray(event.missing) ? event.missing.map(String) : [];
      return [
        {
          kind: 'reconnect-timeout',
          at: event.at,
          reason: [...new Set(missing.map((line) => line.replace(/ does not see .*/, '')))].join(','),
          summary: `not everything reconnected within ${event.deadlineMs} ms after step ${event.step}`,
          evidence: { [`missing-step-${event.step}.txt`]: `${missing.join('\n')}\n` },
        },
      ];
    }
    return [];
  },
});
