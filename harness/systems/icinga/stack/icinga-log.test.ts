import t from 'tap';
import { parseIcingaTimestamp } from './icinga-log.ts';

t.test('Icinga timestamps are parsed with their offset', async (t) => {
  t.equal(
    parseIcingaTimestamp('[2026-11-21 07:30:01 +0000] critical/ApiListener: x'),
    Date.UTC(2026, 10, 21, 7, 30, 1),
  );
  t.equal(parseIcingaTimestamp('[2026-11-21 08:30:01 +0100] x'), Date.UTC(2026, 10, 21, 7, 30, 1));
  t.equal(parseIcingaTimestamp('Location: in /etc/icinga2/x.conf'), undefined);
});
