import { defineDetector, findingsFor } from '../../../observe/detector.ts';
import type { IncidentSignal } from '../../../observe/incidents.ts';

/** Seconds the usual level of resets is the median of. */
const RECENT_SECONDS = 10;
/** A second with at least this many resets... */
const MIN_RESETS = 10;
/** ...and this many times the usual level (at least 1) is a spike... */
const SPIKE_FACTOR = 5;
/** ...once there are this many seconds to know the usual level by. */
const MIN_RECENT = 5;

interface NodeState {
  /** Resets per second outside spikes. */
  recent: number[];
  open: { key: string; startT: number; resets: number; seconds: number } | undefined;
}

/**
 * A spike of resets the load's clients saw (`load:second` resets: ECONNRESET, the peer closing
 * mid-request): 10 or more in a second and 5 times the usual level. Spiking seconds in a row are
 * one incident (its count the seconds); when it ends it adds how long and how many resets in all.
 * A server past its client limit turning new clients away, or a reload resetting the connections
 * queued on its old listener, shows as one.
 */
export default defineDetector<Map<string, NodeState>>({
  name: 'reset-spike',
  summary: 'resets seen by the load in a second: 10+ and 5x the usual level (load:second)',
  kinds: ['reset-spike'],
  reads: ['load:second'],
  init: () => new Map(),
  step(state, event) {
    if (event.source !== 'load' || event.type !== 'second' || typeof event.node !== 'string') return [];
    const resets = Number(event.resets ?? 0);
    let node = state.get(event.node);
    if (!node) {
      node = { recent: [], open: undefined };
      state.set(event.node, node);
    }
    const sorted = [...node.recent].sort((a, b) => a - b);
    const usual = Math.max(1, sorted[Math.floor(sorted.length / 2)] ?? 0);
    const spike = node.recent.length >= MIN_RECENT && resets >= MIN_RESETS && resets >= SPIKE_FACTOR * usual;
    const signals: IncidentSignal[] = [];
    if (spike) {
      if (!node.open) {
        const key = `reset-spike|${event.node}|${event.t}`;
        node.open = { key, startT: event.t, resets: 0, seconds: 0 };
        signals.push({
          kind: 'reset-spike',
          at: event.at,
          node: event.node,
          reason: 'connections reset',
          summary: `${resets} requests to ${event.node} ended in a reset in one second (usually ${usual})`,
          dedupKey: key,
          findings: { usualPerSecond: usual },
        });
      } else
        signals.push({
          kind: 'reset-spike',
          at: event.at,
          node: event.node,
          summary: '',
          dedupKey: node.open.key,
        });
      node.open.resets += resets;
      node.open.seconds++;
      return signals;
    }
    if (node.open) {
      const { key, startT, resets: total, seconds } = node.open;
      signals.push(
        findingsFor('reset-spike', key, event.at, event.node, {
          spikeDurationMs: Math.round(event.t - startT),
          resets: total,
          seconds,
        }),
      );
      node.open = undefined;
    }
    node.recent.push(resets);
    if (node.recent.length > RECENT_SECONDS) node.recent.shift();
    return signals;
  },
});
