import t from 'tap';
import { choice, integer, resolveParams } from './params.ts';

const specs = {
  endpoints: integer({ default: 200, min: 0, max: 5000, unit: 'endpoints', summary: 's' }),
  targets: choice({ default: 'both', choices: ['both', 'staggered'], summary: 's' }),
};

t.test('parameters: defaults, given values, and an error for each kind of bad input', async (t) => {
  t.same(resolveParams('x', specs, []), { endpoints: 200, targets: 'both' });
  t.same(resolveParams('x', specs, ['endpoints=1_000', 'targets=staggered']), {
    endpoints: 1000,
    targets: 'staggered',
  });
  t.same(
    resolveParams('x', specs, { endpoints: 7 }),
    { endpoints: 7, targets: 'both' },
    'from run.json (replay)',
  );
  t.throws(() => resolveParams('x', specs, ['nope=1']), {
    code: 'HH_PARAM_INVALID',
    message: /no parameter "nope".*endpoints, targets/,
  });
  t.throws(() => resolveParams('x', specs, ['endpoints=5001']), {
    code: 'HH_PARAM_INVALID',
    message: /from 0 to 5000 \(endpoints\), not "5001"/,
  });
  t.throws(() => resolveParams('x', specs, ['endpoints=1.5']), { code: 'HH_PARAM_INVALID' });
  t.throws(() => resolveParams('x', specs, ['targets=all']), {
    code: 'HH_PARAM_INVALID',
    message: /one of both, staggered/,
  });
  t.throws(() => resolveParams('x', specs, ['endpoints']), {
    code: 'HH_PARAM_INVALID',
    message: /name=value/,
  });
});
