import t from 'tap';
import { readRunFacts } from './run-facts.ts';

const line = (event: Record<string, unknown>) =>
  `${JSON.stringify({ t: 0, at: '2026-12-06T10:00:00.000Z', ...event })}\n`;

t.test('a history written before 2026-12-07 reads in words of today', async (t) => {
  const dir = t.testdir({
    'run.json': JSON.stringify({ id: 'r', scenario: 's', params: {}, seed: 1, limits: { turns: 4 } }),
    'history.jsonl': [
      // The status line named its clients after the system's, the resources their node by its role.
      line({ source: 'run', type: 'status', nodesConnected: 38, nodesTotal: 40 }),
      line({ source: 'observe', type: 'resources', leader: 'n1', processes: [{ rssKb: 900 }] }),
      line({ source: 'run', type: 'status', clientsConnected: 5, clientsTotal: 6, clientsLabel: 'peers' }),
      line({ source: 'observe', type: 'resources', node: 'n2', processes: [{ rssKb: 700 }] }),
    ].join(''),
  });
  const facts = await readRunFacts(dir, []);
  t.match(facts.status, [
    { clientsConnected: 38, clientsTotal: 40, clientsLabel: undefined },
    { clientsConnected: 5, clientsTotal: 6, clientsLabel: 'peers' },
  ]);
  t.match(facts.nodeRss, [
    { node: 'n1', rssKb: 900 },
    { node: 'n2', rssKb: 700 },
  ]);
  t.equal(facts.meta.limits?.steps, 4, 'the step limit named by its unit is read as steps');
});
