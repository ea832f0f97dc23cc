import t from 'tap';
import { advisoryVerdict } from './context-swaps.ts';

t.test('the advisory verdict follows what the node did with the anonymous messages', async (t) => {
  t.equal(advisoryVerdict({ sent: 0, swapped: 0 }, false), undefined, 'nothing sent: no verdict');
  t.same(advisoryVerdict({ sent: 20, swapped: 13 }, false), {
    affected: true,
    evidence: '13 context swaps logged for 20 anonymous pki::UpdateCertificate sent',
  });
  t.same(advisoryVerdict({ sent: 20, swapped: 0 }, false), {
    affected: false,
    evidence: '0 context swaps logged for 20 anonymous pki::UpdateCertificate sent',
  });
  t.match(advisoryVerdict({ sent: 300, swapped: 134 }, true), {
    affected: true,
    evidence: /134 context swaps logged for 300 .*, then the daemon died$/,
  });
  // A crash within the log's first flush: no line to count, and still no "not affected".
  t.match(advisoryVerdict({ sent: 40, swapped: 0 }, true), {
    affected: true,
    evidence: /died under 40 anonymous pki::UpdateCertificate before a swap reached its log/,
  });
});
