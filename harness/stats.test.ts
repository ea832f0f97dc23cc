import t from 'tap';
import { linearSlope, medianInterval, percentile, ratio, summarize } from './stats.ts';

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

t.test('the median interval covers the median about 95% of the time', async (t) => {
  t.equal(medianInterval([1, 2, 3]), undefined, 'too few samples for an honest interval');
  t.same(medianInterval(Array.from({ length: 100 }, (_, i) => i + 1)), { low: 40, high: 61 });
  // Coverage over many samples of a known distribution (uniform 0..1, median 0.5), seeded.
  let state = 42;
  const next = () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
  let covered = 0;
  for (let trial = 0; trial < 2000; trial++) {
    const interval = medianInterval(Array.from({ length: 50 }, next));
    if (interval && interval.low <= 0.5 && 0.5 <= interval.high) covered++;
  }
  t.ok(covered / 2000 >= 0.93 && covered / 2000 <= 0.99, `coverage ${covered / 2000}`);
});

t.test('linear slope', async (t) => {
  t.equal(
    linearSlope([
      { x: 0, y: 1 },
      { x: 10, y: 21 },
      { x: 20, y: 41 },
    ]),
    2,
  );
  t.equal(
    linearSlope([
      { x: 3, y: 1 },
      { x: 3, y: 5 },
    ]),
    undefined,
    'no spread in x',
  );
  t.equal(linearSlope([]), undefined);
});
