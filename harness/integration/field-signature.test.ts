import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { ensureEngine } from '../engine/docker-engine.ts';
import type { Incident } from '../observe/incidents.ts';
import { silentProgress } from '../progress.ts';
import { hunt } from './cli.ts';
import { runObjects } from './leftovers.ts';

// The certificate-fault shim on a real master: the field signature, caught as its own kind,
// with a capture in which tshark shows the alert. The trigger lasts 2 s: the umbrella latch
// keeps the fault after it, and the remedy's restart (after the 5 s probe) comes once the
// trigger is gone, so the restarted master is clean (with the trigger still there, the new
// umbrella would latch again).
const { docker } = await ensureEngine(silentProgress);
const results = t.testdir();

t.test(
  'field-signature (umbrella-latched): one incident on master1, both roles, recovered by a restart',
  async (t) => {
    const result = await hunt([
      'run',
      'field-signature',
      '--param',
      'mode=umbrella',
      '--param',
      'for=2000',
      '--param',
      'after=0',
      '--reloads',
      '8',
      '--seed',
      '5',
      '--results',
      results,
      '--json',
    ]);
    t.equal(
      result.code,
      0,
      `the expectation is met: ${result.stdout.slice(-600)} ${result.stderr.slice(-400)}`,
    );
    const { dir, incidents } = JSON.parse(result.stdout) as { dir: string; incidents: Incident[] };
    const signature = incidents.filter((incident) => incident.kind === 'field-signature');
    t.equal(signature.length, 1, 'one field-signature incident');
    const [incident] = signature;
    t.equal(incident?.node, 'master1');
    t.match(incident?.summary, /as server and as client/);
    t.ok(
      incidents.every((other) => other.kind !== 'field-signature' || other.node === 'master1'),
      'no other node shows it',
    );
    const folder = join(dir, 'incidents', String(incident?.id).padStart(3, '0'));
    t.match(
      await readFile(join(folder, 'capture.txt'), 'utf8'),
      /Alert|Illegal Parameter|illegal_parameter/i,
      'the capture shows the alert the peers got',
    );
    const handshakeIncident = incidents.find(
      (i) => i.kind === 'tls-handshake-failed' && i.node === 'master1',
    );
    t.match(
      handshakeIncident?.findings,
      { persistence: { state: 'persistent', remedy: { action: 'restart', recoveredAfterMs: Number } } },
      'latched across reloads; a restart cleared it',
    );
    t.equal(await runObjects(docker, results), 0, 'nothing left running');
  },
);
