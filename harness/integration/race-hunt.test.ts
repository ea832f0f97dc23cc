import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { ensureEngine } from '../engine/docker-engine.ts';
import type { Incident } from '../observe/incidents.ts';
import { silentProgress } from '../progress.ts';
import { hunt } from './cli.ts';
import { runObjects } from './leftovers.ts';

// The race hunt on an unmodified 2.13.6: anonymous context swaps of master2 under connect load.
// An independent check saw the daemon die after 7 and 253 swaps; the harness must catch that
// as an incident with its evidence (the master gone, its last lines, the kernel's fault line).
const { docker } = await ensureEngine(silentProgress);
const results = t.testdir();

t.test('race-hunt on 2.13.6: the master dies under context swaps, caught with its evidence', async (t) => {
  const result = await hunt([
    'run',
    'race-hunt',
    '--icinga',
    '2.13.6',
    '--param',
    'swaps=5000',
    '--param',
    'endpoints=10',
    '--seed',
    '3',
    '--results',
    results,
    '--json',
  ]);
  t.equal(result.code, 1, `an incident, so the expectation is not met: ${result.stderr.slice(-400)}`);
  const { dir, incidents } = JSON.parse(result.stdout) as { dir: string; incidents: Incident[] };
  // The whole daemon gone (master-down), or its worker silent while the container runs (worker-down).
  const down = incidents.find(
    (incident) => ['master-down', 'worker-down'].includes(incident.kind) && incident.node === 'master2',
  );
  t.ok(down, `master2 went down (incidents: ${incidents.map((i) => `${i.kind}@${i.node}`).join(', ')})`);
  t.ok(down?.evidence.includes('capture.pcapng'), 'with the capture of its last seconds');
  t.ok(down?.evidence.includes('crash-master2.txt'), 'with its crash evidence');
  const crash = await readFile(
    join(dir, 'incidents', String(down?.id).padStart(3, '0'), 'crash-master2.txt'),
    'utf8',
  );
  t.match(crash, /Last \d+ log lines of master2/);
  t.match(crash, /Kernel lines about icinga2/);
  const report = await readFile(join(dir, 'report.md'), 'utf8');
  // A daemon that dies within a second of the first swap takes the swap lines with its unflushed log.
  const swaps = Number(
    /Disruptions, context-swap: ([\d,]+) on master2/.exec(report)?.[1]?.replace(/,/g, '') ?? 0,
  );
  const diedUnlogged = /before a swap reached its log/.test(report);
  t.ok(
    swaps >= 1 || diedUnlogged,
    `the report counts the swaps master2 made (${swaps}) or says why none were logged`,
  );
  // What the processes were is what the incident's kind says: a master down has no daemon left, a
  // worker down has the umbrella alone or a worker that hangs (the field's silent end).
  const expectedState =
    down?.kind === 'master-down'
      ? /\((container gone|gone: no icinga2 process)\)/
      : /\((worker gone|alive: .*silent)/;
  t.match(
    crash,
    new RegExp(`icinga2 processes in the container now ${expectedState.source}`),
    `${down?.kind}: the processes agree`,
  );
  t.match(report, /GHSA-vj39-ww8j-vvx5 on master2: \*\*affected\*\*/, 'the advisory checked: affected');
  t.equal(await runObjects(docker, results), 0, 'nothing left running');
});
