import t from 'tap';
import { type FootprintPoint, harnessFootprint } from './footprint.ts';
import { renderReport } from './markdown.ts';
import type { RunSummary } from './summary.ts';

const START = '2026-12-07T00:00:00.000Z';
const at = (minutes: number) => new Date(Date.parse(START) + minutes * 60_000).toISOString();

/** A sample every minute for `minutes`, RSS from `rssKb(minute)`, the folder every 5 minutes. */
function samples(minutes: number, rssKb: (minute: number) => number): FootprintPoint[] {
  return Array.from({ length: minutes + 1 }, (_, minute) => ({
    at: at(minute),
    rssKb: rssKb(minute),
    historyBytes: 1_000 * minute,
    ...(minute % 5 === 0 ? { folderBytes: 10_000 * minute } : {}),
  }));
}

t.test('a run shorter than an hour has no footprint to compare', async (t) => {
  t.equal(
    harnessFootprint(
      samples(70, () => 400_000),
      START,
      59 * 60_000,
    ),
    undefined,
    'by its duration',
  );
  t.equal(
    harnessFootprint(
      samples(59, () => 400_000),
      START,
      null,
    ),
    undefined,
  );
  t.equal(harnessFootprint([], START, null), undefined);
});

t.test('a flat harness: per hour its RSS range, history and folder at the hour end, no trend', async (t) => {
  // Warm-up growth in the first 15 minutes, then flat with a little noise.
  const footprint = harnessFootprint(
    samples(150, (m) => (m < 15 ? 300_000 + m * 5_000 : 400_000 + (m % 3) * 1_000)),
    START,
    null,
  );
  t.ok(footprint);
  t.same(
    footprint?.hours.map((h) => [h.hour, h.samples, h.historyBytes, h.folderBytes]),
    [
      [1, 60, 59_000, 550_000],
      [2, 60, 119_000, 1_150_000],
      [3, 31, 150_000, 1_500_000],
    ],
  );
  t.equal(footprint?.hours[0]?.rssMinKb, 300_000, 'the warm-up shows in the first hour');
  t.equal(footprint?.hours[1]?.rssMaxKb, 402_000);
  t.equal(footprint?.rssTrend?.samples, 136, 'the trend reads only the samples after 15 minutes');
  t.ok(
    Math.abs(footprint?.rssTrend?.percentPerHour ?? 99) < 0.5,
    `flat: ${footprint?.rssTrend?.percentPerHour}%/h`,
  );
});

t.test('a leak of 4% an hour reads as about that, the warm-up left out', async (t) => {
  const footprint = harnessFootprint(
    samples(150, (m) => (m < 15 ? 100_000 : 400_000 * (1 + 0.04 * ((m - 15) / 60)))),
    START,
    null,
  );
  t.equal(footprint?.rssTrend?.kbPerHour, 16_000);
  const percent = footprint?.rssTrend?.percentPerHour ?? 0;
  t.ok(percent >= 3.7 && percent <= 4, `${percent}% of its mean an hour`);
});

t.test('samples of a run written before the sizes were recorded: RSS only', async (t) => {
  const footprint = harnessFootprint(
    samples(70, () => 400_000).map(({ at, rssKb }) => ({ at, rssKb })),
    START,
    null,
  );
  t.same(
    footprint?.hours.map((h) => [h.historyBytes, h.folderBytes]),
    [
      [null, null],
      [null, null],
    ],
  );
});

t.test("report.md gives a long run's footprint its own section", async (t) => {
  const harness = harnessFootprint(
    samples(150, (m) => 400_000 + m * 10),
    START,
    null,
  );
  const summary = {
    id: 'r',
    scenario: 'reload-storm',
    params: {},
    seed: 1,
    target: {},
    captureSecrets: true,
    startedAt: START,
    endedAt: at(150),
    durationMs: 150 * 60_000,
    status: 'passed',
    complete: true,
    outcome: null,
    expectations: [],
    environment: { system: 'a system' },
    steps: null,
    disruptions: {},
    load: [],
    measures: {},
    advisories: [],
    incidents: [],
    faults: { count: 0, skipped: 0, samples: [] },
    detectorFailures: [],
    harness: harness ?? null,
    history: { events: 0, skippedLines: 0, bytes: 0, bytesPerStep: null, dropped: {} },
    reproduce: 'npx hunt run x',
    attach: [],
  } satisfies RunSummary;
  const report = renderReport(summary);
  t.match(
    report,
    /## The harness over time\n\nHarness RSS after the first 15 minutes: \+0\.6 MiB an hour, \+0\.1% of its mean/,
  );
  t.match(report, /\| 2 \| 60 \| 391\.2 MiB to 391\.8 MiB \| 0\.1 MB \| 1\.1 MB \|/);
  t.notMatch(renderReport({ ...summary, harness: null }), /harness over time/, 'a short run has none');
});

t.test('hours count from the target up; a watch of days gets rows of several hours', async (t) => {
  // Samples from 30 minutes before the target was up (an image build) count as its first minute.
  const footprint = harnessFootprint(
    samples(100 * 60, () => 400_000),
    at(30),
    null,
  );
  t.equal(footprint?.hours[0]?.hour, 1);
  t.equal(footprint?.hours[0]?.toHour, 3, '100 hours in rows of 3');
  t.equal(footprint?.hours.length, 34, 'at most 48 rows');
  t.equal(footprint?.hours[0]?.samples, 31 + 179, "the build's minutes and the first three hours");
});
