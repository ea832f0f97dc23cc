import t from 'tap';
import { DetectorChain } from '../../../observe/detection.ts';
import { IncidentLedger } from '../../../observe/incidents.ts';
import type { HistoryEvent } from '../../../run/history.ts';
import acceptQueue from './accept-queue.ts';
import resetSpike from './reset-spike.ts';

const at = (s: number) => new Date(Date.UTC(2026, 10, 30, 10) + s * 1_000).toISOString();
const queue = (s: number, queued: number): HistoryEvent => ({
  t: s * 1_000,
  at: at(s),
  source: 'socket',
  type: 'accept-queue',
  node: 'stunnel',
  port: 443,
  queued,
  backlog: 4096,
});
const load = (s: number, resets: number): HistoryEvent => ({
  t: s * 1_000,
  at: at(s),
  source: 'load',
  type: 'second',
  node: 'stunnel',
  offered: 100,
  completed: 100,
  resets,
});

function detect(events: HistoryEvent[]) {
  const ledger = new IncidentLedger();
  const chain = new DetectorChain([acceptQueue, resetSpike], (signal) => ledger.apply(signal));
  for (const e of events) chain.feed(e);
  return ledger.list();
}

t.test('a queue growing for 20 s is one incident, with how long and how deep', async (t) => {
  const events = [
    ...Array.from({ length: 10 }, (_, s) => queue(s, s % 3)),
    ...Array.from({ length: 20 }, (_, i) => queue(10 + i, 50 * (i + 1))),
    queue(30, 0),
    queue(31, 0),
  ];
  const [incident, ...rest] = detect(events);
  t.same(rest, []);
  t.match(incident, {
    kind: 'accept-queue-growth',
    node: 'stunnel',
    findings: { queueDurationMs: 20_000, mostQueued: 1_000, backlog: 4096, backlogFull: false },
  });
});

t.test('a burst that drains at once, or a steady small queue, is nothing', async (t) => {
  t.same(
    detect([
      queue(0, 0),
      queue(1, 80),
      queue(2, 40),
      queue(3, 0),
      ...Array.from({ length: 20 }, (_, s) => queue(4 + s, 5)),
    ]),
    [],
  );
});

t.test('a reset spike: 10+ resets in a second and 5x the usual; the usual churn is not', async (t) => {
  const usual = Array.from({ length: 12 }, (_, s) => load(s, 2));
  t.same(detect(usual), []);
  const [spike, ...rest] = detect([...usual, load(12, 128), load(13, 2)]);
  t.same(rest, []);
  t.match(spike, { kind: 'reset-spike', count: 1, findings: { resets: 128, usualPerSecond: 2, seconds: 1 } });
  const [sustained, ...none] = detect([...usual, load(12, 50), load(13, 51), load(14, 49), load(15, 1)]);
  t.same(none, [], 'spiking seconds in a row are one incident');
  t.match(sustained, { count: 3, findings: { resets: 150, seconds: 3, spikeDurationMs: 3_000 } });
  t.same(
    detect([...Array.from({ length: 12 }, (_, s) => load(s, 30)), load(12, 60)]),
    [],
    'twice a busy usual is no spike',
  );
});
