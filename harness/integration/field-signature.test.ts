import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { ensureEngine } from '../engine/docker-engine.ts';
import type { Incident } from '../observe/incidents.ts';
import { silentProgress } from '../progress.ts';
import { hunt } from './cli.ts';
import { runObjects } from './leftovers.ts';

// The certificate-fault shim on a real master, in each of its three lifetimes: the field
// signature caught as its own kind every time, and the remedy telling them apart. The trigger
// lasts 2 s and the probe 5 s, so a fault that lives only while the trigger exists is gone
// before the probe gives up (the master is healthy); one latched in the worker outlives the
// trigger until a reload replaces the worker; one latched in the umbrella until a restart.
const { docker } = await ensureEngine(silentProgress);
const results = t.testdir();

const fieldSignature = (mode: string) =>
  hunt([
    'run',
    'field-signature',
    '--param',
    `mode=${mode}`,
    '--param',
    'for=2000',
    '--param',
    'after=0',
    '--reloads',
    '4',
    '--seed',
    '5',
    '--results',
    results,
    '--json',
  ]);

/** Runs one mode and checks what every mode shares: one signature on master1, its alert captured. */
async function signatureOf(t: Test, mode: string): Promise<Incident | undefined> {
  const result = await fieldSignature(mode);
  let parsed: {
    dir: string;
    incidents: Incident[];
    status: string;
    expectations: { ok: boolean; detail: string }[];
  };
  try {
    parsed = JSON.parse(result.stdout);
  } catch {
    t.fail(`hunt run printed no JSON (exit ${result.code}): ${result.stderr.slice(-800)}`);
    return undefined;
  }
  const { dir, incidents, status, expectations } = parsed;
  // On failure, what a reader needs first: the verdict's words and each incident in a line.
  const told = `${status}: ${expectations.map((e) => `${e.ok ? '' : 'NOT MET '}${e.detail}`).join('; ')}; incidents: ${incidents
    .map(
      (i) =>
        `#${i.id} ${i.kind}@${i.node} x${i.count} [${i.evidence.join(' ')}]${i.partOf ? ` part of #${i.partOf}` : ''}`,
    )
    .join(', ')}`;
  t.equal(result.code, 0, `the expectation is met (${told}) ${result.stderr.slice(-400)}`);
  const signature = incidents.filter((incident) => incident.kind === 'field-signature');
  t.same(
    signature.map((incident) => incident.node),
    ['master1'],
    'one field-signature incident, on master1 only',
  );
  t.match(signature[0]?.summary, /as server and as client/);
  const folder = join(dir, 'incidents', String(signature[0]?.id).padStart(3, '0'));
  t.match(
    await readFile(join(folder, 'capture.txt'), 'utf8'),
    /Alert|Illegal Parameter|illegal_parameter/i,
    'the capture shows the alert the peers got',
  );
  t.equal(await runObjects(docker, results), 0, 'nothing left running');
  return incidents.find((i) => i.kind === 'tls-handshake-failed' && i.node === 'master1');
}

t.test('field-signature (trigger): gone with its trigger, before any remedy', async (t) => {
  const handshake = await signatureOf(t, 'trigger');
  t.match(handshake?.findings, { persistence: { state: 'master-healthy' } }, 'a good client got in again');
  t.notOk(
    (handshake?.findings.persistence as { remedy?: unknown } | undefined)?.remedy,
    'no remedy was needed',
  );
});

t.test('field-signature (worker-latched): outlives its trigger, a reload clears it', async (t) => {
  const handshake = await signatureOf(t, 'worker');
  t.match(
    handshake?.findings,
    { persistence: { state: 'persistent', remedy: { action: 'reload', recoveredAfterMs: Number } } },
    'persistent past the trigger; the reload cleared it and no restart came',
  );
});

t.test('field-signature (umbrella-latched): survives the reload, a restart clears it', async (t) => {
  const handshake = await signatureOf(t, 'umbrella');
  t.match(
    handshake?.findings,
    {
      persistence: {
        state: 'persistent',
        remedy: {
          action: 'restart',
          recoveredAfterMs: Number,
          before: { action: 'reload', recovered: false },
        },
      },
    },
    'the reload did not clear it; the restart did',
  );
});
