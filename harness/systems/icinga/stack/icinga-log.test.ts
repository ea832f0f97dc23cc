import t from 'tap';
import { icingaJournalLine, parseIcingaTimestamp } from './icinga-log.ts';

t.test('Icinga timestamps are parsed with their offset', async (t) => {
  t.equal(
    parseIcingaTimestamp('[2026-11-21 07:30:01 +0000] critical/ApiListener: x'),
    Date.UTC(2026, 10, 21, 7, 30, 1),
  );
  t.equal(parseIcingaTimestamp('[2026-11-21 08:30:01 +0100] x'), Date.UTC(2026, 10, 21, 7, 30, 1));
  t.equal(parseIcingaTimestamp('Location: in /etc/icinga2/x.conf'), undefined);
});

t.test(
  "a journal entry reads as the main log's line: stdout as it is, syslog's and journald's rebuilt",
  async (t) => {
    const at = String(Date.UTC(2026, 11, 7, 0, 53, 4) * 1000 + 451_445);
    const stdout = '[2026-12-07 00:53:04 +0000] information/cli: Closing console log.';
    t.equal(icingaJournalLine({ MESSAGE: stdout, PRIORITY: '6', __REALTIME_TIMESTAMP: at }), stdout);
    const failed = 'Client TLS handshake failed (from [::ffff:172.17.0.1]:53000): unexpected message';
    const syslog = icingaJournalLine({
      MESSAGE: failed,
      PRIORITY: '2',
      SYSLOG_IDENTIFIER: 'icinga2',
      __REALTIME_TIMESTAMP: at,
    });
    t.equal(syslog, `[2026-12-07 00:53:04 +0000] critical/icinga2: ${failed}`);
    t.equal(
      parseIcingaTimestamp(syslog ?? ''),
      Date.UTC(2026, 11, 7, 0, 53, 4),
      'its time as the log would give it',
    );
    t.equal(
      icingaJournalLine({
        MESSAGE: failed,
        PRIORITY: '4',
        ICINGA2_FACILITY: 'ApiListener',
        __REALTIME_TIMESTAMP: at,
      }),
      `[2026-12-07 00:53:04 +0000] warning/ApiListener: ${failed}`,
    );
    t.equal(
      icingaJournalLine({ MESSAGE: 'x', PRIORITY: '9' }),
      '[] information/journal: x',
      'what it cannot tell, said plainly',
    );
    t.equal(icingaJournalLine({ PRIORITY: '2' }), undefined, 'no message, no line');
  },
);
