import { DisruptionWindows, defineDetector } from '../../../observe/detector.ts';
import { RELOAD_DISRUPTION_EVENTS, reloadDisruptionOf } from '../reload/reload-record.ts';

interface State {
  disruptions: DisruptionWindows;
  /** The worker pid each master should have: the last reload's new pid, or the first one seen. */
  expected: Map<string, number>;
  /** Nodes a remedy is restarting: the only disruption that stops a container on purpose. */
  restarting: Set<string>;
}

/**
 * The worker recorder's observations against the disruption windows (reloads, remedy restarts):
 * a worker pid that changes when no disruption asked for it (asked after the last one settled) is
 * `worker-replaced`; an API silent for seconds outside any disruption is `worker-down`, or
 * `master-down` when the container is gone.
 */
export default defineDetector<State>({
  name: 'workers',
  summary: "each master's worker process: replaced without a reload, silent, or gone",
  kinds: ['worker-replaced', 'worker-down', 'master-down'],
  reads: ['observe:worker-seen', 'observe:worker-silent', ...RELOAD_DISRUPTION_EVENTS],
  init: () => ({
    disruptions: new DisruptionWindows(reloadDisruptionOf),
    expected: new Map(),
    restarting: new Set(),
  }),
  step(state, event) {
    // A context swap drops connections in an instant: it neither replaces a worker nor silences
    // its API for seconds, so it explains neither (and the race hunt's swaps come back to back).
    if (event.kind === 'context-swap') return [];
    const disruption = state.disruptions.see(event);
    if (disruption?.kind === 'restart')
      if (disruption.phase === 'started') state.restarting.add(disruption.node);
      else state.restarting.delete(disruption.node);
    // A restart or a remedy's reload brings a new worker on purpose: learn its pid afresh. Only the
    // storm's own reload says which worker came (its reload-finished carries newPid).
    if (disruption?.phase === 'ended' && !(disruption.kind === 'reload' && event.source === 'reload'))
      state.expected.delete(disruption.node);
    if (event.source === 'reload' && event.type === 'reload-finished' && typeof event.newPid === 'number')
      state.expected.set(String(event.master), event.newPid);
    if (event.source !== 'observe' || typeof event.master !== 'string') return [];
    const master = event.master;
    // An answer asked for before the last reload settled says nothing about the worker now.
    const askedAt = typeof event.askedT === 'number' ? event.askedT : event.t;
    const stale =
      state.disruptions.around(master, askedAt, 0) || askedAt < (state.disruptions.lastSettled(master) ?? -1);
    if (event.type === 'worker-seen' && typeof event.pid === 'number') {
      const expected = state.expected.get(master);
      if (stale) return [];
      state.expected.set(master, event.pid);
      if (expected === undefined || expected === event.pid) return [];
      return [
        {
          kind: 'worker-replaced',
          at: event.at,
          node: master,
          reason: 'unexpected worker change',
          summary: `${master}'s worker changed from pid ${expected} to ${event.pid} without a reload`,
        },
      ];
    }
    if (event.type === 'worker-silent') {
      const since = typeof event.sinceT === 'number' ? event.sinceT : event.t;
      const running = event.containerRunning !== false;
      // A reload or a context swap never stops a container: gone is gone, whatever window is open
      // (a race hunt's swaps are windows back to back, and its crash came inside one).
      if (!running && !state.restarting.has(master)) return [gone(event.at, master)];
      if (
        stale ||
        state.disruptions.around(master, since, 0) ||
        since < (state.disruptions.lastSettled(master) ?? -1)
      )
        return [];
      if (!running) return [gone(event.at, master)];
      return [
        {
          kind: 'worker-down',
          at: event.at,
          node: master,
          reason: 'api silent',
          // A watch reads /proc, not the API: it names the port no process of the daemon listens on.
          summary:
            typeof event.port === 'number'
              ? `${master} stopped listening on port ${event.port} outside any reload: the daemon runs, no worker holds its listener`
              : `${master} stopped serving outside any reload: its container runs, its worker does not answer`,
          dedupKey: `worker-down|${master}`,
        },
      ];
    }
    return [];
  },
});

function gone(at: string, master: string) {
  return {
    kind: 'master-down',
    at,
    node: master,
    reason: 'container gone',
    summary: `${master}'s container is not running`,
    dedupKey: `master-down|${master}`,
  };
}
