import t from 'tap';
import { checkAnswerer } from './check-policy.ts';
import { checkResultMessage, helloMessage, icingaVersionNumber } from './messages.ts';

t.test('versions become the numbers Icinga compares', async (t) => {
  t.equal(icingaVersionNumber('r2.13.6-1'), 21306);
  t.equal(icingaVersionNumber('v2.14.6'), 21406);
  t.throws(() => icingaVersionNumber('unknown'));
});

t.test("Hello speaks the master's own version: 2.14 caps 3, 2.13 caps 1, 2.12 empty params", async (t) => {
  t.same(helloMessage(21406).params, { version: 21406, capabilities: 3 });
  t.same(helloMessage(21306).params, { version: 21306, capabilities: 1 });
  t.same(helloMessage(21203).params, {});
});

t.test('check results carry performance_data, and host checks carry no service', async (t) => {
  const service = checkResultMessage(
    { host: 'sim-1', service: 'load', command: 'load' },
    { state: 1, output: 'W' },
    'sim-1',
  );
  const cr = (service.params as { cr: Record<string, unknown> }).cr;
  t.same(cr.performance_data, [], 'present though empty: without it the master stores an empty result');
  t.equal(cr.type, 'CheckResult');
  t.equal(cr.check_source, 'sim-1');
  t.equal((service.params as { service?: string }).service, 'load');
  const host = checkResultMessage({ host: 'sim-1' }, { state: 0, output: 'UP' }, 'sim-1');
  t.notOk('service' in (host.params as object));
});

t.test('seeded random checks repeat exactly and stay in range', async (t) => {
  const a = checkAnswerer({ kind: 'random', seed: 5 }, 'sim-3');
  const b = checkAnswerer({ kind: 'random', seed: 5 }, 'sim-3');
  const c = checkAnswerer({ kind: 'random', seed: 5 }, 'sim-4');
  const seqA = Array.from({ length: 50 }, () => a({}).state);
  t.same(
    Array.from({ length: 50 }, () => b({}).state),
    seqA,
    'same seed, same endpoint: same states',
  );
  t.notSame(
    Array.from({ length: 50 }, () => c({}).state),
    seqA,
    'another endpoint draws differently',
  );
  t.ok(seqA.every((state) => state >= 0 && state <= 3));
  const fn = checkAnswerer(
    { kind: 'function', answer: (endpoint, p) => ({ state: 2, output: `${endpoint}:${p.service}` }) },
    'sim-9',
  );
  t.same(fn({ service: 'disk' }), { state: 2, output: 'sim-9:disk' });
});
