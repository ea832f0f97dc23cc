import { defineNemesis } from '../nemesis.ts';

/**
 * Every simulated client of the node cuts its connection and dials again at once, all together:
 * aimed (by the schedule) at the gap between the old worker's exit and the new listener, it is
 * the fleet arriving in the moment a reload is most fragile. No attributes; it ends by itself
 * (its window covers the reconnect wave: give it a forMs of a few seconds).
 */
export default defineNemesis<Record<string, never>>({
  name: 'reconnect-burst',
  summary: 'every simulated client of the node reconnects at once (aimed at the moment its listener is back)',
  parse: () => ({}),
  check(target) {
    return target.reconnectClients ? undefined : `${target.system} runs no simulated clients to burst`;
  },
  async start({ target, node }) {
    const cut = target.reconnectClients?.(node.name) ?? 0;
    target.run.history.record('nemesis', 'burst', { node: node.name, connections: cut });
    return async () => {};
  },
});
