import { join } from 'node:path';
import t from 'tap';
import { ensureEngine } from '../engine/docker-engine.ts';
import type { Incident } from '../observe/incidents.ts';
import { silentProgress } from '../progress.ts';
import { readHistory } from '../run/history-reader.ts';
import { hunt } from './cli.ts';
import { runObjects } from './leftovers.ts';

// The hung-reload scenario on the default image: master1's old worker stopped for 6 s as its
// second reload is signalled. The umbrella must wait for it (the reload finishes only once the
// worker goes), and a SIGHUP sent during the hang must be kept and honoured afterwards: a worker
// replaced with no reload asked for. Without that SIGHUP the same hang opens no incident, which
// proves the incident comes from the kept signal and not from the hang itself.
const { docker } = await ensureEngine(silentProgress);
const results = t.testdir();
const HANG_MS = 6_000;

const runHungReload = (hup: 'during' | 'none') =>
  hunt([
    'run',
    'hung-reload',
    '--param',
    `hang=${HANG_MS}`,
    '--param',
    'hupAfter=2000',
    '--param',
    'at=2',
    '--param',
    'endpoints=5',
    '--param',
    `hup=${hup}`,
    '--reloads',
    '3',
    '--seed',
    '3',
    '--results',
    results,
    '--json',
  ]);

t.test('a SIGHUP during the hang is kept: one worker-replaced incident on master1', async (t) => {
  const result = await runHungReload('during');
  t.equal(
    result.code,
    0,
    `the expectation is met: ${result.stdout.slice(-600)} ${result.stderr.slice(-400)}`,
  );
  const { dir, incidents } = JSON.parse(result.stdout) as { dir: string; incidents: Incident[] };
  t.same(
    incidents.map((incident) => `${incident.kind}@${incident.node}`),
    ['worker-replaced@master1'],
    'exactly the kept SIGHUP',
  );
  const history = await readHistory(join(dir, 'history.jsonl'));
  const hangEnded = history.find(
    (event) => event.type === 'disruption-ended' && event.kind === 'hung-worker' && event.node === 'master1',
  );
  const hungReload = history.find((event) => event.type === 'reload-finished' && event.step === 1);
  t.ok(hangEnded && hungReload, 'the hang ended and the hung reload finished');
  t.ok(
    Number(hungReload?.t) >= Number(hangEnded?.t),
    `the hung reload finished only once the old worker went (finished at ${hungReload?.t} ms, hang ended at ${hangEnded?.t} ms)`,
  );
  t.equal(
    history.filter((event) => event.type === 'reload-finished').length,
    3,
    'every reload of the storm finished',
  );
  t.equal(await runObjects(docker, results), 0, 'nothing left running');
});

t.test('the same hang without the SIGHUP: no incident', async (t) => {
  const result = await runHungReload('none');
  t.equal(
    result.code,
    0,
    `the expectation is met: ${result.stdout.slice(-600)} ${result.stderr.slice(-400)}`,
  );
  const { incidents } = JSON.parse(result.stdout) as { incidents: Incident[] };
  t.same(
    incidents.map((incident) => `${incident.kind}@${incident.node}`),
    [],
    'a hang alone replaces no worker',
  );
  t.equal(await runObjects(docker, results), 0, 'nothing left running');
});
