import t from 'tap';
import { percentile, ratio, summarize } from './stats.ts';

t.test('nearest-rank percentiles', async (t) => {
  const values = Array.from({ length: 100 }, (_, i) => 100 - i);
  t.equal(percentile(values, 50), 50);
  t.equal(percentile(values, 95), 95);
  t.equal(percentile(values, 100), 100);
  t.equal(percentile(values, 0), 1);
  t.equal(percentile([7], 99), 7);
  t.ok(Number.isNaN(percentile([], 50)));
});

t.test('summaries and ratios', async (t) => {
  t.match(summarize([1, 2, 3, 4]), { n: 4, p50: 2, max: 4, mean: 2.5 });
  t.equal(ratio(3, 2), '1.50x');
});
