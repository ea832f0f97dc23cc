import { join } from 'node:path';
import t, { type Test } from 'tap';
import { ensureEngine } from '../engine/docker-engine.ts';
import { silentProgress } from '../progress.ts';
import type { Matrix } from '../report/matrix.ts';
import { readHistory } from '../run/history-reader.ts';
import { hunt } from './cli.ts';
import { runObjects } from './leftovers.ts';

// The field's questions as scenarios, each a short real run on 2.13.6 (TLS 1.3: the Certificate
// is encrypted, so the sizes come from the decrypted capture), one after another.
const { docker } = await ensureEngine(silentProgress);
const results = t.testdir();

async function run(t: Test, scenario: string, ...args: string[]) {
  const result = await hunt(['run', scenario, '--icinga', '2.13.6', ...args, '--results', results, '--json']);
  const summary = JSON.parse(result.stdout || '{}') as { dir: string; status: string };
  t.equal(result.code, 0, `${scenario} passed: ${result.stderr.slice(-600)}`);
  return { ...summary, history: await readHistory(join(summary.dir, 'history.jsonl')) };
}

t.test(
  'cert-size-sweep under hunt matrix: each Certificate master1 sends is what its certificates predict',
  async (t) => {
    const result = await hunt([
      'matrix',
      'cert-size-sweep',
      '--icinga',
      '2.13.6',
      '--grid',
      'intermediates=0,1',
      '--param',
      'keys=rsa2048',
      '--param',
      'cas=50',
      '--param',
      'endpoints=5',
      '--reloads',
      '2',
      '--results',
      results,
      '--json',
    ]);
    t.equal(result.code, 0, `both cells passed: ${result.stderr.slice(-600)}`);
    const matrix = JSON.parse(result.stdout) as Matrix;
    t.same(matrix.grid, ['intermediates']);
    t.equal(matrix.cells.length, 2, 'one cell per grid value: none lost');
    for (const cell of matrix.cells) {
      const sizes = cell.measures ?? {};
      const at = `intermediates=${cell.grid?.intermediates}`;
      t.ok((sizes['Certificate sent'] ?? 0) > 0, `${at}: read from the decrypted capture`);
      t.equal(
        sizes['Certificate sent'],
        sizes['Certificate predicted'],
        `${at}: sent as predicted, byte for byte`,
      );
      t.ok(
        (sizes.CertificateRequest ?? 0) > 50 * 50,
        `${at}: 50 CA names asked for (${sizes.CertificateRequest} bytes)`,
      );
    }
    t.equal(await runObjects(docker, results), 0, 'nothing left running');
  },
);

t.test('director-deploy: every deploy reloads master1, and master2 by the zone sync', async (t) => {
  const { history } = await run(
    t,
    'director-deploy',
    '--param',
    'deploys=3',
    '--param',
    'every=500',
    '--param',
    'endpoints=5',
    '--param',
    'agents=0',
  );
  const finished = history.filter((e) => e.type === 'reload-finished');
  const pids = (master: string) => new Set(finished.filter((e) => e.master === master).map((e) => e.newPid));
  t.equal(pids('master1').size, 3, 'three new workers on master1');
  t.equal(pids('master2').size, 3, 'three on master2, from the synced zone config');
  t.equal(history.filter((e) => e.type === 'reload-failed').length, 0, 'no deploy failed');
  t.equal(await runObjects(docker, results), 0, 'nothing left running');
});

t.test("race-hunt path=renewal: master1's renewal swaps master2's context, counted", async (t) => {
  const { history } = await run(
    t,
    'race-hunt',
    '--param',
    'path=renewal',
    '--param',
    'swaps=3',
    '--param',
    'load=1',
    '--param',
    'endpoints=5',
  );
  const done = history.find((e) => e.type === 'renewals-finished') as
    | { swapped?: number; planted?: number }
    | undefined;
  t.match(done, { planted: 3, swapped: 3 }, 'each planted certificate renewed, each renewal a swap');
  const swaps = history.filter((e) => e.type === 'disruption-started' && e.kind === 'context-swap');
  t.ok(swaps.length >= 3, `master2 logged the swaps (${swaps.length})`);
  t.equal(await runObjects(docker, results), 0, 'nothing left running');
});
