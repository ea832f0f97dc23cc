import t from 'tap';
import { builtInPatterns, classify, normalize } from './log-patterns.ts';

t.test('the field line is a TLS handshake failure with its reason and peer, in both shapes', async (t) => {
  const v213 =
    '[2026-11-21 07:18:11 +0000] critical/ApiListener: Client TLS handshake failed (from [::ffff:172.20.0.1]:55460): excessive message size';
  const v214 = `${v213.replace('55460', '57884')} (SSL routines)`;
  for (const line of [v213, v214]) {
    t.same(classify(line, builtInPatterns), {
      kind: 'tls-handshake-failed',
      name: 'tls-handshake-failed',
      reason: 'excessive message size',
      peer: '172.20.0.1',
    });
  }
});

t.test('other lines map to their kinds; normal lines to nothing', async (t) => {
  t.equal(
    classify(
      "[x] notice/ApiListener: Ignoring JSON-RPC connection from [1.2.3.4]:5. We're already connected to Endpoint 'a'.",
      builtInPatterns,
    )?.kind,
    'duplicate-connection',
  );
  t.equal(classify('[x] critical/Application: Caught SIGSEGV.', builtInPatterns)?.kind, 'crash');
  t.equal(
    classify(
      "[x] critical/ApiListener: Cannot connect to host 'master2' on port '5665': Connection refused",
      builtInPatterns,
    )?.kind,
    'critical-log',
  );
  t.equal(
    classify('[x] information/ApiListener: New client connection for identity', builtInPatterns),
    undefined,
  );
});

t.test('lines that differ in time, numbers and addresses normalize alike', async (t) => {
  t.equal(
    normalize(
      "[2026-11-21 07:00:01 +0000] critical/ApiListener: Cannot connect to host 'master2' on port '5665': Connection refused",
    ),
    normalize(
      "[2026-11-21 09:13:44 +0000] critical/ApiListener: Cannot connect to host 'master2' on port '5665': Connection refused",
    ),
  );
});
