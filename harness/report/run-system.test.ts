import t from 'tap';
import type { Detector } from '../observe/detector.ts';
import type { RunManifest } from '../run/manifest.ts';
import { systemOfRun } from './run-system.ts';

const detector = (name: string) => ({ name }) as Detector;
const red = { name: 'red', stepUnit: 'turns', detectors: [detector('red-a'), detector('red-b')] };
const blue = { name: 'blue', stepUnit: 'turns', detectors: [detector('blue-a')] };
const manifest = (fields: Partial<RunManifest>) =>
  ({ id: 'r', scenario: 's', params: {}, seed: 1, ...fields }) as RunManifest;

t.test("a run's system: run.json's own word, then its target's, then the detectors it used", async (t) => {
  t.equal(systemOfRun(manifest({ system: 'blue', target: { red: '1' } }), [red, blue]), blue);
  t.equal(
    systemOfRun(manifest({ target: { red: '1.0' } }), [red, blue]),
    red,
    'a run written before run.json named it',
  );
  t.equal(
    systemOfRun(manifest({ target: { image: 'mine:1' }, detectors: ['blue-a'] }), [red, blue]),
    blue,
    "a user's image: the system whose detectors the run used",
  );
  t.equal(systemOfRun(manifest({ system: 'green' }), [red, blue]), undefined, 'a system not known here');
  t.equal(
    systemOfRun(manifest({ target: { image: 'mine:1' } }), [red, blue]),
    undefined,
    'nothing to tell it by',
  );
});
