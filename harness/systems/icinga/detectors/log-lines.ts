import { DisruptionWindows, defineDetector, isInterruption } from '../../../observe/detector.ts';
import type { IncidentSignal } from '../../../observe/incidents.ts';
import { builtInPatterns, classify, normalize } from '../../../observe/log-patterns.ts';
import type { HistoryEvent } from '../../../run/history.ts';
import { RELOAD_DISRUPTION_EVENTS, reloadDisruptionOf } from '../reload/reload-record.ts';

/** Icinga retries a lost endpoint every 10 s: its complaints can come that long after a reload. */
const RELOAD_GRACE_MS = 15_000;

/**
 * Lines that a reload of a peer explains: it refuses, resets or ends connections for about a
 * second, and when both masters reload at once a connection made to the other's dying worker
 * hangs until Icinga gives up on it (seen on 2.13.6: "Timeout while reconnecting ... cancelling
 * attempt" and "Exception while handling new API client connection: Error: Broken pipe", 15 s
 * after the reload, while the storm still waited for everyone to come back). A context swap drops
 * every client the same way: 2.14.6 then logs "Error while syncing endpoint ...: Cannot send message
 * to already disconnected API client" for a sync under way (264 times in 3,000 swaps).
 */
const RELOAD_SIDE_EFFECT =
  /Cannot connect to host|Connection refused|Connection reset|Broken pipe|End of file|Operation canceled|stream truncated|Timeout while reconnecting to endpoint|Exception while handling new API client connection|Error while (reading|sending) JSON-RPC|Ignoring JSON-RPC connection|Cannot send message to already disconnected API client/i;

interface State {
  reloads: DisruptionWindows;
  /** node|seq of the first line of each incident, whose excerpt the log-context completes. */
  excerpts: Map<string, { dedupKey: string; before: string[]; line: string }>;
  /** Incidents that already have their excerpt from this node. */
  excerptFor: Set<string>;
}

/**
 * The log detector: each master's matching icinga2.log lines (recorded by the log recorder with
 * their neighbours) become incidents by kind. All TLS handshake failures of a master are one
 * incident, whoever saw them first; side effects of a reload in progress are expected, not
 * incidents (a handshake cut short, a refused connect to the reloading peer).
 */
export default defineDetector<State>({
  name: 'log-lines',
  summary:
    "each master's icinga2.log: TLS handshake failures, OpenSSL errors, crashes, critical lines, your patterns",
  kinds: [
    'tls-handshake-failed',
    'openssl-error',
    'duplicate-connection',
    'crash',
    'critical-log',
    'pattern:<name>',
  ],
  reads: ['observe:log-match', 'observe:log-context', ...RELOAD_DISRUPTION_EVENTS],
  init: () => ({
    reloads: new DisruptionWindows(reloadDisruptionOf),
    excerpts: new Map(),
    excerptFor: new Set(),
  }),
  step(state, event) {
    state.reloads.see(event);
    if (event.source !== 'observe') return [];
    if (event.type === 'log-context') return completeExcerpt(state, event);
    if (event.type !== 'log-match') return [];
    const node = String(event.node);
    const line = String(event.line);
    const found = classify(line, builtInPatterns) ?? customMatch(event, line);
    if (!found) return [];
    const tls = found.kind === 'tls-handshake-failed';
    const aroundReload = state.reloads.anyAround(event.t, RELOAD_GRACE_MS);
    if (
      aroundReload &&
      (tls ? isInterruption(found.reason) : found.kind !== 'crash' && RELOAD_SIDE_EFFECT.test(line))
    )
      return [];
    // All TLS handshake failures of a master are one incident, whoever reports them.
    const dedupKey = tls ? `tls-handshake-failed|${node}` : `${found.kind}|${node}|${found.reason}`;
    const signal: IncidentSignal = {
      kind: found.kind,
      at: event.at,
      node,
      peer: found.peer,
      reason: found.reason,
      summary: tls ? `${node} failed a TLS handshake: ${found.reason}` : `${node}: ${line.slice(0, 160)}`,
      dedupKey,
    };
    const excerptKey = `${dedupKey}|${node}`;
    if (!state.excerptFor.has(excerptKey) && Array.isArray(event.before)) {
      state.excerptFor.add(excerptKey);
      const before = event.before.map(String);
      state.excerpts.set(`${node}|${event.seq}`, { dedupKey, before, line });
      signal.evidence = { [`log-${node}.txt`]: excerpt(before, line, []) };
    }
    return [signal];
  },
});

function customMatch(event: HistoryEvent, line: string) {
  const kind = typeof event.kind === 'string' && event.kind.startsWith('pattern:') ? event.kind : undefined;
  return kind ? { kind, reason: normalize(line), peer: undefined } : undefined;
}

function completeExcerpt(state: State, event: HistoryEvent): IncidentSignal[] {
  const key = `${event.node}|${event.seq}`;
  const first = state.excerpts.get(key);
  if (!first || !Array.isArray(event.after)) return [];
  state.excerpts.delete(key);
  return [
    {
      kind: 'evidence',
      at: event.at,
      summary: 'log excerpt completed',
      attachTo: first.dedupKey,
      evidence: { [`log-${event.node}.txt`]: excerpt(first.before, first.line, event.after.map(String)) },
    },
  ];
}

/** The matching line marked with ">", its neighbours indented. */
function excerpt(before: string[], line: string, after: string[]): string {
  return [...before.map((l) => `  ${l}`), `> ${line}`, ...after.map((l) => `  ${l}`)].join('\n').concat('\n');
}
