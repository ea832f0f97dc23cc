import { defineDetector, findingsFor } from '../../../observe/detector.ts';
import type { IncidentSignal } from '../../../observe/incidents.ts';

/** Connections waiting to be accepted that are a queue, not a moment's burst... */
const MIN_QUEUED = 20;
/** ...for this many readings (seconds) in a row. */
const GROWING_READINGS = 3;

interface NodeState {
  /** Readings in a row over MIN_QUEUED, and the growth seen. */
  run: Array<{ t: number; at: string; queued: number }>;
  open: { key: string; startT: number; most: number; backlog: number } | undefined;
}

/**
 * A server that stopped accepting: its listener's queue (`socket:accept-queue`, from `ss` in its
 * namespace) at 20 connections or more and not shrinking, 3 readings in a row. The kernel
 * completes TCP handshakes into the queue whatever the server does, so clients connect and then
 * wait; a full queue (the backlog) drops SYNs. When the queue drains it adds how long it grew,
 * how long it was at most and whether it reached the backlog.
 */
export default defineDetector<Map<string, NodeState>>({
  name: 'accept-queue',
  summary: "a listener's accept queue growing (20+ waiting, 3 s): the server stopped accepting",
  kinds: ['accept-queue-growth'],
  reads: ['socket:accept-queue'],
  init: () => new Map(),
  step(state, event) {
    if (event.source !== 'socket' || event.type !== 'accept-queue' || typeof event.node !== 'string')
      return [];
    const queued = Number(event.queued ?? 0);
    const backlog = Number(event.backlog ?? 0);
    let node = state.get(event.node);
    if (!node) {
      node = { run: [], open: undefined };
      state.set(event.node, node);
    }
    const signals: IncidentSignal[] = [];
    const last = node.run.at(-1);
    if (queued >= MIN_QUEUED && (!last || queued >= last.queued || node.open)) {
      node.run.push({ t: event.t, at: event.at, queued });
      if (node.open) node.open.most = Math.max(node.open.most, queued);
      else if (node.run.length >= GROWING_READINGS) {
        const first = node.run[0] as { t: number; at: string };
        const key = `accept-queue|${event.node}|${first.t}`;
        node.open = { key, startT: first.t, most: queued, backlog };
        signals.push({
          kind: 'accept-queue-growth',
          at: first.at,
          node: event.node,
          reason: 'connections queued, not accepted',
          summary: `${event.node} stopped accepting: ${queued} connections waiting in its listener's queue (backlog ${backlog}) and growing`,
          dedupKey: key,
        });
      }
      return signals;
    }
    if (node.open && queued < MIN_QUEUED) {
      const { key, startT, most } = node.open;
      signals.push(
        findingsFor('accept-queue-growth', key, event.at, event.node, {
          queueDurationMs: Math.round(event.t - startT),
          mostQueued: most,
          backlog: node.open.backlog,
          backlogFull: most >= node.open.backlog,
        }),
      );
      node.open = undefined;
    }
    if (!node.open) node.run = queued >= MIN_QUEUED ? [{ t: event.t, at: event.at, queued }] : [];
    return signals;
  },
});
