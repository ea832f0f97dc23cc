import t from 'tap';
import { seededRandom } from '../../../random.ts';
import { delayBefore, parseSchedule, type Schedule } from './schedule.ts';

t.test('schedules give the wait before each reload', async (t) => {
  const random = seededRandom(1);
  t.same(
    [0, 1, 2].map((i) => delayBefore({ kind: 'fixed', everyMs: 500 }, i, random)),
    [0, 500, 500],
  );
  t.same(
    [0, 1, 2, 3, 4].map((i) => delayBefore({ kind: 'burst', size: 2, pauseMs: 900 }, i, random)),
    [0, 0, 900, 0, 900],
  );
  t.same(
    [0, 1].map((i) => delayBefore({ kind: 'asap' }, i, random)),
    [0, 0],
  );
  const jittered = Array.from({ length: 200 }, (_, i) =>
    delayBefore({ kind: 'jitter', everyMs: 1000, jitterMs: 100 }, i + 1, random),
  );
  t.ok(jittered.every((d) => d >= 900 && d <= 1100));
  t.ok(new Set(jittered.map(Math.round)).size > 50, 'jitter varies');
});

t.test('jitter repeats with the seed, and another seed draws another schedule', async (t) => {
  const jitter = { kind: 'jitter', everyMs: 1000, jitterMs: 500 } as const;
  // One generator per schedule, as a run draws its reloads' waits one after another.
  const draw = (seed: number, length = 10) => {
    const random = seededRandom(seed);
    return Array.from({ length }, (_, i) => delayBefore(jitter, i + 1, random));
  };
  t.same(draw(4), draw(4), 'the same seed, the same waits');
  t.notSame(draw(4), draw(5), 'another seed, other waits');
  // Not one pair of 100 seeds may share a schedule: the seed, not chance, picks it.
  const schedules = Array.from({ length: 100 }, (_, seed) => draw(seed).join(','));
  t.equal(new Set(schedules).size, 100, '100 seeds, 100 different schedules');
  t.ok(new Set(draw(4)).size > 1, 'the waits of one schedule differ from each other');
});

t.test('jitter stays within everyMs ± jitterMs, for every seed, and spans it', async (t) => {
  const waits = (schedule: Schedule, seed: number) => {
    const random = seededRandom(seed);
    return Array.from({ length: 50 }, (_, i) => delayBefore(schedule, i + 1, random));
  };
  const all: number[] = [];
  for (let seed = 0; seed < 500; seed++)
    all.push(...waits({ kind: 'jitter', everyMs: 1000, jitterMs: 200 }, seed));
  const outside = all.filter((wait) => !(wait >= 800 && wait <= 1200));
  t.same(outside, [], '25,000 waits of 500 seeds, none outside 800..1200');
  // Both ends of the band are reached, and both halves drawn alike: not a narrower or lopsided jitter.
  t.ok(Math.min(...all) < 805, `the shortest wait ${Math.min(...all)} is near 800`);
  t.ok(Math.max(...all) > 1195, `the longest wait ${Math.max(...all)} is near 1200`);
  const below = all.filter((wait) => wait < 1000).length;
  t.ok(Math.abs(below / all.length - 0.5) < 0.02, `${below} of ${all.length} waits below 1000: about half`);
  // A jitter wider than the interval is cut at 0: never a negative wait.
  const wide: number[] = [];
  for (let seed = 0; seed < 500; seed++)
    wide.push(...waits({ kind: 'jitter', everyMs: 100, jitterMs: 300 }, seed));
  t.ok(
    wide.every((wait) => wait >= 0 && wait <= 400),
    'jitter:100:300 waits stay within 0..400',
  );
  t.ok(
    wide.some((wait) => wait === 0),
    'and the waits the jitter would make negative are 0',
  );
});

t.test('CLI forms parse, and bad ones say what is accepted', async (t) => {
  t.same(parseSchedule('asap'), { kind: 'asap' });
  t.same(parseSchedule('fixed:250'), { kind: 'fixed', everyMs: 250 });
  t.same(parseSchedule('jitter:1000:200'), { kind: 'jitter', everyMs: 1000, jitterMs: 200 });
  t.same(parseSchedule('burst:10:5000'), { kind: 'burst', size: 10, pauseMs: 5000 });
  t.throws(() => parseSchedule('burst:0:1'), { code: 'HH_USAGE' });
  t.throws(() => parseSchedule('every:1'), { code: 'HH_USAGE', message: /asap, fixed/ });
});
