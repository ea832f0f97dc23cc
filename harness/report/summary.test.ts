import t from 'tap';
import type { RunManifest } from '../run/manifest.ts';
import { reproduceCommand } from './summary.ts';

const manifest = (fields: Partial<RunManifest>): RunManifest => ({
  id: '20261206-191320-watch-73b4',
  scenario: 'watch',
  params: {},
  seed: 7,
  harness: {},
  host: {},
  startedAt: '2026-12-06T19:13:20.000Z',
  endedAt: null,
  outcome: null,
  complete: false,
  ...fields,
});

t.test('a run is reproduced by its scenario, target, limits and seed', async (t) => {
  t.equal(
    reproduceCommand(
      manifest({
        scenario: 'canary',
        target: { icinga: '2.13.6' },
        limits: { steps: 4 },
        command: ['hunt', 'run'],
      }),
    ),
    'npx hunt run canary --icinga 2.13.6 --steps 4 --seed 7',
  );
});

t.test('a watch gives the command that started it, as root, quoted for a shell', async (t) => {
  t.equal(
    reproduceCommand(
      manifest({
        command: ['hunt', 'watch', '--pid', '4242', '--log', "/srv/my logs/it's.log", '--name', 'master1'],
      }),
    ),
    "sudo npx hunt watch --pid 4242 --log '/srv/my logs/it'\\''s.log' --name master1",
  );
});
