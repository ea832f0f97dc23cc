import { defineDetector, ReloadWindows } from '../detector.ts';

interface State {
  reloads: ReloadWindows;
  /** The worker pid each master should have: the last reload's new pid, or the first one seen. */
  expected: Map<string, number>;
}

/**
 * The worker recorder's observations against the reloads: a worker pid that changes when no
 * reload asked for it (asked after the last reload settled) is `worker-replaced`; an API silent
 * for seconds outside any reload is `worker-down`, or `master-down` when the container is gone.
 */
export default defineDetector<State>({
  name: 'workers',
  summary: "each master's worker process: replaced without a reload, silent, or gone",
  kinds: ['worker-replaced', 'worker-down', 'master-down'],
  init: () => ({ reloads: new ReloadWindows(), expected: new Map() }),
  step(state, event) {
    state.reloads.see(event);
    if (event.source === 'reload' && event.type === 'reload-finished' && typeof event.newPid === 'number')
      state.expected.set(String(event.master), event.newPid);
    if (event.source !== 'observe' || typeof event.master !== 'string') return [];
    const master = event.master;
    // An answer asked for before the last reload settled says nothing about the worker now.
    const askedAt = typeof event.askedT === 'number' ? event.askedT : event.t;
    const stale =
      state.reloads.around(master, askedAt, 0) || askedAt < (state.reloads.lastSettled(master) ?? -1);
    if (event.type === 'worker-seen' && typeof event.pid === 'number') {
      const expected = state.expected.get(master);
      if (stale) return [];
      state.expected.set(master, event.pid);
      if (expected === undefined || expected === event.pid) return [];
      return [
        {
          kind: 'worker-replaced',
          at: event.at,
          master,
          reason: 'unexpected worker change',
          summary: `${master}'s worker changed from pid ${expected} to ${event.pid} without a reload`,
        },
      ];
    }
    if (event.type === 'worker-silent') {
      const since = typeof event.sinceT === 'number' ? event.sinceT : event.t;
      if (
        stale ||
        state.reloads.around(master, since, 0) ||
        since < (state.reloads.lastSettled(master) ?? -1)
      )
        return [];
      const running = event.containerRunning !== false;
      const kind = running ? 'worker-down' : 'master-down';
      return [
        {
          kind,
          at: event.at,
          master,
          reason: running ? 'api silent' : 'container gone',
          summary: running
            ? `${master} stopped serving outside any reload: its container runs, its worker does not answer`
            : `${master}'s container is not running`,
          dedupKey: `${kind}|${master}`,
        },
      ];
    }
    return [];
  },
});
