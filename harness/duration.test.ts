import t from 'tap';
import { formatDuration, parseDuration } from './duration.ts';

t.test('durations: units, sums, and what is not one', async (t) => {
  t.equal(parseDuration('90s'), 90_000);
  t.equal(parseDuration('30m'), 1_800_000);
  t.equal(parseDuration('1h30m'), 5_400_000);
  t.equal(parseDuration('250ms'), 250);
  for (const bad of ['5', 'ten minutes', '5 m', '', '0s', '31d', '1h 30m'])
    t.throws(() => parseDuration(bad), { code: 'HH_USAGE' }, `"${bad}"`);
  t.equal(formatDuration(125_000), '2m05s');
  t.equal(formatDuration(3_725_000), '1h02m');
  t.equal(formatDuration(4_000), '4s');
});
