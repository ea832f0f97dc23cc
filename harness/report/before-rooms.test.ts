import { cp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { systems } from '../cli/systems.ts';
import { matrixOfRuns } from './matrix-build.ts';
import { writeReport } from './report-writer.ts';

// Run folders written before the systems became rooms (commit 0556429: incidents said `master`
// and `endpoints`, every detector ran on every system), kept with what hunt report said of them
// then. Today's report must find the same incidents in them, under today's names.
const fixtures = join(import.meta.dirname, 'fixtures');

interface Then {
  status: string;
  incidents: Array<{
    kind: string;
    master?: string;
    summary: string;
    firstSeen: string;
    lastSeen: string;
    count: number;
    peers: string[];
    endpoints: string[];
    reasons: string[];
  }>;
}

for (const name of ['before-rooms-latency', 'before-rooms-kill'])
  t.test(`hunt report of ${name} finds what it found then`, async (t) => {
    const dir = join(t.testdir(), name);
    await cp(join(fixtures, name), dir, { recursive: true });
    const then = JSON.parse(await readFile(join(dir, 'report-then.json'), 'utf8')) as Then;
    const { summary } = await writeReport(dir, systems);
    t.equal(summary.status, then.status);
    t.same(
      summary.incidents.map((incident) => ({
        kind: incident.kind,
        node: incident.node,
        summary: incident.summary,
        firstSeen: incident.firstSeen,
        lastSeen: incident.lastSeen,
        count: incident.count,
        peers: incident.peers,
        clients: incident.clients,
        reasons: incident.reasons,
      })),
      then.incidents.map(({ master, endpoints, ...same }) => ({
        kind: same.kind,
        node: master,
        summary: same.summary,
        firstSeen: same.firstSeen,
        lastSeen: same.lastSeen,
        count: same.count,
        peers: same.peers,
        clients: endpoints,
        reasons: same.reasons,
      })),
      'the same incidents, master now node and endpoints now clients',
    );
    t.match(await readFile(join(dir, 'report.md'), 'utf8'), /## Incidents/);
    if (name === 'before-rooms-kill')
      // What hunt report said of its reloads then (run.json named no system: its history tells).
      t.match(
        summary.steps,
        {
          unit: 'reloads',
          total: 9,
          ok: 8,
          failed: 1,
          shortfalls: { 'reconnect-timeout': 6 },
          phasesMs: { barrier: { p50: 676 } },
        },
        'its reloads, read as the steps of the system whose events they are',
      );
  });

t.test('hunt merge takes folders written before the change', async (t) => {
  const root = t.testdir();
  const dirs = await Promise.all(
    ['before-rooms-latency', 'before-rooms-kill'].map(async (name) => {
      await cp(join(fixtures, name), join(root, name), { recursive: true });
      return join(root, name);
    }),
  );
  // Two stack tests of different names cannot be one matrix; each alone is one, its incidents
  // those hunt report found then.
  for (const dir of dirs) {
    const matrix = await matrixOfRuns([dir], systems);
    const meta = JSON.parse(await readFile(join(dir, 'run.json'), 'utf8')) as { stack: { image: string } };
    const then = JSON.parse(await readFile(join(dir, 'report-then.json'), 'utf8')) as Then;
    t.match(matrix.cells, [{ target: meta.stack.image, incidents: then.incidents.length }], dir);
  }
});
