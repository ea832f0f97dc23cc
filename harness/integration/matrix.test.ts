import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import type { Matrix } from '../report/matrix.ts';
import { hunt } from './cli.ts';

const results = t.testdir();
const baseline = join(results, 'baseline.json');
// flaky-network puts master2 behind the chaos proxy: toxicity 0 is a clean network, 100 delays
// every connection to master2 by 8 s, which is what a much slower version would look like.
// Reconnects are bimodal even on a clean network: some wait for Icinga's 10 s reconnect timer
// (about 10.7 s), so the worse run must be slower than that mode, not only than the fast one.
// At 4 s a worse run's reconnects were 8.9-15 s and a baseline with many 10.7 s ones left the
// rank test short of p < 0.01 (seen once in CI); at 8 s every one takes longer than 10.7 s.
// The worse run needs fewer reloads: every one of its reconnects is slower than every baseline
// one, so the rank test's p stays below 0.01 (6 against 8, none overlapping: about 0.001); under six
// samples a side the rank test says nothing (stats.ts).
const cell = (toxicity: number, latency: number, reloads = 8) => [
  'matrix',
  'flaky-network',
  '--icinga',
  '2.13.6',
  '--reloads',
  String(reloads),
  '--param',
  'endpoints=20',
  '--param',
  'jitter=0',
  '--param',
  `latency=${latency}`,
  '--param',
  `toxicity=${toxicity}`,
  '--capture',
  'off',
  '--results',
  results,
  '--json',
];

t.test('hunt matrix writes the table; a worse run against the saved baseline exits 1', async (t) => {
  const first = await hunt([...cell(0, 0), '--save-baseline', baseline]);
  t.equal(first.code, 0, 'no baseline, no regression', { stderr: first.stderr.slice(-800) });
  const matrix = JSON.parse(first.stdout) as Matrix & { dir: string };
  t.match(matrix.cells, [
    { target: '2.13.6', steps: { unit: 'reloads', count: 8 }, incidents: 0, runs: [{ status: 'passed' }] },
  ]);
  // Wilson's 95% upper bound for 0 in 8: z²/(8+z²), 324.4 per 1,000.
  const high = matrix.cells[0]?.steps?.incidentsPer1000?.high ?? 0;
  t.ok(Math.abs(high - 324.4) < 0.1, `zero incidents in 8 reloads still bound the rate: ${high} per 1,000`);
  t.match(await readFile(join(matrix.dir, 'matrix.md'), 'utf8'), /\| 2\.13\.6 \| 2\.13\.6 \| 3\.0\.\d+ \|/);
  t.same(JSON.parse(await readFile(baseline, 'utf8')).cells, matrix.cells, 'the baseline is this matrix');

  const worse = await hunt([...cell(100, 8000, 6), '--baseline', baseline]);
  t.equal(worse.code, 1, 'a regression', { stderr: worse.stderr.slice(-800) });
  const compared = JSON.parse(worse.stdout) as Matrix;
  t.ok(
    compared.regressions.some((r) => r.target === '2.13.6' && r.measure === 'reconnect p50 (ms)'),
    'names the version and the measure',
    { regressions: compared.regressions, cells: compared.cells, baseline: matrix.cells },
  );
  t.match(worse.stderr, /2\.13\.6: passed/, 'the cell itself passed: the regression is the matrix verdict');
});
