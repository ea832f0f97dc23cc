import { DisruptionWindows, defineDetector } from '../../../observe/detector.ts';
import type { IncidentSignal } from '../../../observe/incidents.ts';
import { RELOAD_DISRUPTION_EVENTS, reloadDisruptionOf } from '../reload/reload-record.ts';

/** The field failure is one node refusing everyone: this many distinct peers at least... */
const MIN_PEERS = 3;
/** ...within this long, in both roles (as server "from", as client "to"). */
const WINDOW_MS = 60_000;
/** Sightings kept per node (the window bounds them too). */
const MAX_SIGHTINGS = 1_000;
/** What the signature is made of: the handshake failures its node and its peers log. */
const PARTS = ['tls-handshake-failed'];

const TLS_LINE =
  /Client TLS handshake failed \((from|to) \[(?:::ffff:)?([^\]]+)\]:\d+\): (.+?)(?: \(SSL routines\))?$/;

interface Sighting {
  t: number;
  peer: string;
  /** The failing node's role: 'from' (it was the server), 'to' (it dialled out). */
  role: 'from' | 'to';
}

interface State {
  disruptions: DisruptionWindows;
  /** Node addresses on the run's network -> names (stack:node-addresses). */
  names: Map<string, string>;
  gateway: string | undefined;
  seen: Map<string, Sighting[]>;
  opened: Set<string>;
  /** Reloads of a node since its signature opened (its own reloads did not clear it). */
  reloadsSinceOpened: Map<string, number>;
}

/**
 * The field signature: one node failing TLS handshakes with "excessive message size" with many
 * peers, as server and as client, within a minute; its peers see alert 47 ("illegal
 * parameter"). Sightings come from the failing node's own log (2.12.3-2.14.6: "(from ...)" and
 * "(to ...)"), from its peers' logs ("sslv3 alert illegal parameter" naming it), and from the
 * swarm (ERR_SSL_SSLV3_ALERT_ILLEGAL_PARAMETER against it). Peers are counted by name: the
 * simulated endpoints share one gateway address, so the log's gateway lines are left to the
 * swarm's own events. One bad peer (the canary) is never the signature. After it opens, a
 * failure after the node's own reload is recorded as `survivedReloads`: a reload did not fix it.
 */
export default defineDetector<State>({
  name: 'field-signature',
  summary: 'one node failing "excessive message size" with many peers in both roles within a minute',
  kinds: ['field-signature'],
  reads: ['stack:node-addresses', 'observe:log-match', 'swarm:handshake-failed', ...RELOAD_DISRUPTION_EVENTS],
  init: () => ({
    disruptions: new DisruptionWindows(reloadDisruptionOf),
    names: new Map(),
    gateway: undefined,
    seen: new Map(),
    opened: new Set(),
    reloadsSinceOpened: new Map(),
  }),
  step(state, event) {
    const disruption = state.disruptions.see(event);
    if (disruption?.phase === 'ended' && disruption.kind === 'reload' && state.opened.has(disruption.node))
      state.reloadsSinceOpened.set(disruption.node, (state.reloadsSinceOpened.get(disruption.node) ?? 0) + 1);
    if (event.source === 'stack' && event.type === 'node-addresses') {
      for (const [address, name] of Object.entries((event.addresses ?? {}) as Record<string, string>))
        state.names.set(address, name);
      state.gateway = typeof event.gateway === 'string' ? event.gateway : undefined;
      return [];
    }
    const sighting = sightingOf(state, event);
    if (!sighting) return [];
    return noteSighting(
      state,
      sighting.node,
      { t: event.t, peer: sighting.peer, role: sighting.role },
      event.at,
    );
  },
});

function sightingOf(state: State, event: { source: string; type: string; [k: string]: unknown }) {
  if (event.source === 'swarm' && event.type === 'handshake-failed') {
    const text = `${String(event.code ?? '')} ${String(event.error ?? '')}`;
    if (!/ILLEGAL_PARAMETER|illegal parameter/i.test(text) || typeof event.master !== 'string')
      return undefined;
    // The endpoint dialled the node and was refused with alert 47: the node failed as server.
    return { node: event.master, peer: String(event.endpoint), role: 'from' as const };
  }
  if (event.source !== 'observe' || event.type !== 'log-match') return undefined;
  const match = TLS_LINE.exec(String(event.line));
  if (!match) return undefined;
  const [, direction, address, reason] = match as unknown as [string, 'from' | 'to', string, string];
  if (address === state.gateway) return undefined; // the swarm's, counted by name from its own events
  const other = state.names.get(address) ?? address;
  const logger = String(event.node);
  if (/excessive message size/.test(reason)) return { node: logger, peer: other, role: direction };
  if (/illegal parameter/i.test(reason))
    // A peer's view: it dialled the node ("to") and the node, as server, refused; or the node
    // dialled it ("from") and, as client, could not read its certificate.
    return { node: other, peer: logger, role: direction === 'to' ? ('from' as const) : ('to' as const) };
  return undefined;
}

function noteSighting(state: State, node: string, sighting: Sighting, at: string): IncidentSignal[] {
  const list = state.seen.get(node) ?? [];
  list.push(sighting);
  while (list.length > 0 && ((list[0] as Sighting).t < sighting.t - WINDOW_MS || list.length > MAX_SIGHTINGS))
    list.shift();
  state.seen.set(node, list);
  const dedupKey = `field-signature|${node}`;
  if (state.opened.has(node)) {
    const survived = state.reloadsSinceOpened.get(node) ?? 0;
    return [
      {
        kind: 'field-signature',
        at,
        node,
        peer: sighting.peer,
        summary: '',
        dedupKey,
        absorbs: { kinds: PARTS, nodes: [sighting.peer] },
        ...(survived > 0 ? { findings: { survivedReloads: survived } } : {}),
      },
    ];
  }
  const peers = new Set(list.map((s) => s.peer));
  const roles = new Set(list.map((s) => s.role));
  if (peers.size < MIN_PEERS || roles.size < 2) return [];
  state.opened.add(node);
  return [
    {
      kind: 'field-signature',
      at,
      node,
      peer: sighting.peer,
      peers: [...peers],
      reason: 'excessive message size with many peers, both roles',
      summary:
        `${node} failed TLS handshakes with ${peers.size} peers as server and as client within ${WINDOW_MS / 1000} s ` +
        `(excessive message size; its peers saw alert 47, illegal parameter): the field signature. Peers: ${[...peers].slice(0, 10).join(', ')}`,
      dedupKey,
      // Its own handshake failures and its peers' with it are this one failure.
      // Older failures at those nodes (before the signature's minute) are other stories.
      absorbs: {
        kinds: PARTS,
        nodes: [node, ...peers],
        since: new Date(Date.parse(at) - WINDOW_MS).toISOString(),
      },
    },
  ];
}
