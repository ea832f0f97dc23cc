import t from 'tap';
import type { HistoryEvent } from '../history/history.ts';
import { swarmHandshakeSignal } from './swarm-signals.ts';

const failed = (fields: Record<string, unknown>): HistoryEvent => ({
  t: 1,
  at: '2026-11-21T10:00:00.000Z',
  source: 'swarm',
  type: 'handshake-failed',
  master: 'master1',
  endpoint: 'sim-7',
  ...fields,
});

t.test('a TLS error joins the master tls-handshake-failed incident, reload or not', async (t) => {
  const alert = failed({
    code: 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE',
    error:
      'C0:error:0A000410:SSL routines:ssl3_read_bytes:sslv3 alert handshake failure:../ssl/record/rec_layer_s3.c:1605:SSL alert number 40',
  });
  for (const duringReload of [true, false])
    t.match(swarmHandshakeSignal(alert, duringReload), {
      kind: 'tls-handshake-failed',
      master: 'master1',
      endpoint: 'sim-7',
      reason: 'client saw: ssl3_read_bytes',
      dedupKey: 'tls-handshake-failed|master1',
    });
});

t.test('a reset handshake is handshake-interrupted, apart from TLS failures', async (t) => {
  const reset = failed({ code: 'ECONNRESET', error: 'read ECONNRESET' });
  const during = swarmHandshakeSignal(reset, true);
  const steady = swarmHandshakeSignal(reset, false);
  t.match(during, { kind: 'handshake-interrupted', reason: 'ECONNRESET while master1 reloaded' });
  t.match(steady, { kind: 'handshake-interrupted', reason: 'ECONNRESET with no reload going on' });
  t.not(during.dedupKey, steady.dedupKey, 'during and outside reloads are separate incidents');
  t.match(swarmHandshakeSignal(failed({ error: 'socket hang up' }), false), { reason: /^closed / });
  const eof = failed({
    code: 'ERR_SSL_UNEXPECTED_EOF_WHILE_READING',
    error: 'error:0A000126:SSL routines::unexpected eof while reading',
  });
  t.match(swarmHandshakeSignal(eof, true), {
    kind: 'handshake-interrupted',
    reason: /^unexpected eof while/,
  });
});
