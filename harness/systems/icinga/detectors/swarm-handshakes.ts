import { DisruptionWindows, defineDetector, isInterruption } from '../../../observe/detector.ts';
import { RELOAD_DISRUPTION_EVENTS, reloadDisruptionOf } from '../reload/reload-record.ts';

/** A handshake cut short this soon after its master's reload finished is still the reload's doing. */
const RELOAD_GRACE_MS = 2000;

/**
 * The swarm's view of its handshakes. A TLS error (an alert, an OpenSSL reason) joins the
 * master's `tls-handshake-failed` incident, the one its log opens too, naming the endpoint. A
 * handshake merely cut short (reset, closed, unexpected eof) while that master reloads is what a
 * reload does (no socket is handed over): expected, not an incident. Cut short with no reload
 * going on, it is `handshake-interrupted`.
 */
export default defineDetector<DisruptionWindows>({
  name: 'swarm-handshakes',
  summary: "the simulated endpoints' failed handshakes, with OpenSSL's text",
  kinds: ['tls-handshake-failed', 'handshake-interrupted'],
  reads: ['swarm:handshake-failed', ...RELOAD_DISRUPTION_EVENTS],
  init: () => new DisruptionWindows(reloadDisruptionOf),
  step(reloads, event) {
    reloads.see(event);
    if (event.source !== 'swarm' || event.type !== 'handshake-failed') return [];
    const master = String(event.master);
    const endpoint = String(event.endpoint);
    const code = typeof event.code === 'string' ? event.code : '';
    const error = String(event.error ?? '');
    const cut = isInterruption(error) || code === 'ERR_SSL_UNEXPECTED_EOF_WHILE_READING' || (!code && !error);
    if (!cut && (code.startsWith('ERR_SSL') || /SSL routines|alert/i.test(error))) {
      // "error:0A000098:SSL routines:ssl3_read_bytes:..." -> the function OpenSSL names.
      const where = error.split(':').slice(4, 5).join('').trim();
      return [
        {
          kind: 'tls-handshake-failed',
          at: event.at,
          node: master,
          client: endpoint,
          reason: `client saw: ${where || code}`,
          summary: `${master} failed a TLS handshake with ${endpoint}`,
          dedupKey: `tls-handshake-failed|${master}`,
        },
      ];
    }
    if (reloads.around(master, event.t, RELOAD_GRACE_MS)) return [];
    const how = /unexpected eof/i.test(error) ? 'unexpected eof' : code || 'closed';
    return [
      {
        kind: 'handshake-interrupted',
        at: event.at,
        node: master,
        client: endpoint,
        reason: `${how} with no reload going on`,
        summary: `handshakes with ${master} cut short with no reload going on (${how})`,
        dedupKey: `handshake-interrupted|${master}`,
      },
    ];
  },
});
