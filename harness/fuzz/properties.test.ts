import fc from 'fast-check';
import t from 'tap';
import { allProperties } from './properties.ts';

// A few hundred cases each on every test run; `npm run fuzz` runs a million.
for (const { name, property } of allProperties)
  t.test(name, async (t) => {
    const details = fc.check(property, { numRuns: 300, seed: 20261121 });
    t.notOk(details.failed, fc.defaultReportMessage(details) ?? 'ok');
  });
