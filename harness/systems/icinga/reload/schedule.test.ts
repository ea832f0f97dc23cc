import t from 'tap';
import { seededRandom } from '../../../random.ts';
import { delayBefore, parseSchedule } from './schedule.ts';

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

t.test('jitter repeats with the seed', async (t) => {
  const draw = (seed: number) =>
    Array.from({ length: 10 }, (_, i) =>
      delayBefore({ kind: 'jitter', everyMs: 1000, jitterMs: 500 }, i + 1, seededRandom(seed)),
    );
  t.same(draw(4), draw(4));
});

t.test('CLI forms parse, and bad ones say what is accepted', async (t) => {
  t.same(parseSchedule('asap'), { kind: 'asap' });
  t.same(parseSchedule('fixed:250'), { kind: 'fixed', everyMs: 250 });
  t.same(parseSchedule('jitter:1000:200'), { kind: 'jitter', everyMs: 1000, jitterMs: 200 });
  t.same(parseSchedule('burst:10:5000'), { kind: 'burst', size: 10, pauseMs: 5000 });
  t.throws(() => parseSchedule('burst:0:1'), { code: 'HH_USAGE' });
  t.throws(() => parseSchedule('every:1'), { code: 'HH_USAGE', message: /asap, fixed/ });
});
