import t from 'tap';
import {
  linearSlope,
  mannWhitneyGreater,
  medianInterval,
  normalCdf,
  percentile,
  ratio,
  summarize,
} from './stats.ts';

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

t.test(
  'Mann-Whitney: a shifted distribution is larger; the same is not; bimodal baselines hold up',
  async (t) => {
    t.ok(Math.abs(normalCdf(1.959964) - 0.975) < 1e-6);
    const base = [1000, 1010, 990, 1005, 995, 1020, 980, 1001, 999, 1003];
    t.ok((mannWhitneyGreater(base, base) ?? 0) > 0.4, 'the same sample: no evidence');
    t.ok(
      (mannWhitneyGreater(
        base,
        base.map((v) => v + 500),
      ) ?? 1) < 0.001,
      'all larger: strong evidence',
    );
    t.ok(
      (mannWhitneyGreater(
        base.map((v) => v + 500),
        base,
      ) ?? 0) > 0.99,
      'one-sided: smaller is not larger',
    );
    // Reconnects: half wait for a 10 s timer. A shift to 9-15 s is larger as a whole.
    const bimodal = [900, 950, 1000, 1100, 1200, 1300, 10600, 10650, 10700, 10650, 10600, 10640];
    const slower = [8800, 9500, 11000, 11500, 12000, 12049, 12300, 12800, 13500, 14000, 14600, 14703];
    t.ok((mannWhitneyGreater(bimodal, slower) ?? 1) < 0.01);
    t.equal(mannWhitneyGreater([1, 2], [3, 4]), undefined, 'too few samples');
  },
);
