import type { HistoryEvent } from '../history/history.ts';
import type { IncidentSignal } from './incidents.ts';

/**
 * A simulated endpoint's failed handshake, as an incident signal. A TLS error (an alert, an
 * OpenSSL reason) joins the master's `tls-handshake-failed` incident, the one the log opens too.
 * A handshake merely cut short (the socket reset or closed, as when a reload ends the old
 * worker mid-handshake) is `handshake-interrupted`, kept apart so the TLS incident names only
 * the endpoints that really failed; those during a reload and those outside one are separate
 * incidents, since only the second kind is unexpected.
 */
export function swarmHandshakeSignal(event: HistoryEvent, duringReload: boolean): IncidentSignal {
  const master = String(event.master);
  const endpoint = String(event.endpoint);
  const code = typeof event.code === 'string' ? event.code : '';
  const error = String(event.error ?? '');
  // OpenSSL 3 reports a peer that vanished mid-handshake as "unexpected eof": cut short too.
  const vanished = /unexpected eof/i.test(error) || code === 'ERR_SSL_UNEXPECTED_EOF_WHILE_READING';
  if (!vanished && (code.startsWith('ERR_SSL') || /SSL routines|alert/i.test(error))) {
    // "error:0A000098:SSL routines:ssl3_read_bytes:..." -> the function OpenSSL names.
    const where = error.split(':').slice(4, 5).join('').trim();
    return {
      kind: 'tls-handshake-failed',
      master,
      endpoint,
      reason: `client saw: ${where || code}`,
      summary: `${master} failed a TLS handshake with ${endpoint}`,
      dedupKey: `tls-handshake-failed|${master}`,
    };
  }
  const how = vanished ? 'unexpected eof' : code || 'closed';
  return duringReload
    ? {
        kind: 'handshake-interrupted',
        master,
        endpoint,
        reason: `${how} while ${master} reloaded`,
        summary: `handshakes with ${master} cut short while it reloaded (${how})`,
        dedupKey: `handshake-interrupted|${master}|reload`,
      }
    : {
        kind: 'handshake-interrupted',
        master,
        endpoint,
        reason: `${how} with no reload going on`,
        summary: `handshakes with ${master} cut short with no reload going on (${how})`,
        dedupKey: `handshake-interrupted|${master}|steady`,
      };
}
