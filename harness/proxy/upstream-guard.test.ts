import t from 'tap';
import { isLocalAddress } from './upstream-guard.ts';

t.test('loopback and the private ranges Docker uses are local; everything else is not', async (t) => {
  for (const address of [
    '127.0.0.1',
    '127.8.9.1',
    '10.1.2.3',
    '172.17.0.1',
    '172.31.255.254',
    '192.168.1.1',
    '::1',
    'fd00::5',
    '::ffff:172.20.0.2',
  ])
    t.ok(isLocalAddress(address), address);
  for (const address of [
    '172.32.0.1',
    '8.8.8.8',
    '192.0.2.1',
    '2001:db8::1',
    '::ffff:8.8.8.8',
    'master1',
    '',
  ])
    t.notOk(isLocalAddress(address), address);
});
