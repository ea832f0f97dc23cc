import t from 'tap';
import { DetectorChain } from '../../../observe/detection.ts';
import { IncidentLedger } from '../../../observe/incidents.ts';
import type { HistoryEvent } from '../../../run/history.ts';
import logSilence from './log-silence.ts';
import throughputStall from './throughput-stall.ts';

/** One second of load (and optionally of log) at second `s` of the run. */
function second(
  s: number,
  load: { completed: number; keepAlive?: number; offered?: number; timeouts?: number },
  log?: { lines: number; late?: number },
): HistoryEvent[] {
  const t = s * 1_000;
  const at = new Date(Date.UTC(2026, 10, 30, 10) + t).toISOString();
  const keepAlive = load.keepAlive ?? Math.floor(load.completed / 2);
  const events: HistoryEvent[] = [
    {
      t,
      at,
      source: 'load',
      type: 'second',
      node: 'stunnel',
      offered: load.offered ?? 100,
      completed: load.completed,
      keepAliveCompleted: keepAlive,
      freshCompleted: load.completed - keepAlive,
      timeouts: load.timeouts ?? 0,
      resets: 0,
    },
  ];
  if (log)
    events.push({
      t: t + 1,
      at,
      source: 'log',
      type: 'rate',
      node: 'stunnel',
      lines: log.lines,
      late: log.late ?? 0,
    });
  return events;
}

function detect(events: HistoryEvent[]) {
  const ledger = new IncidentLedger();
  const chain = new DetectorChain([throughputStall, logSilence], (signal) => ledger.apply(signal));
  for (const e of events) chain.feed(e);
  return ledger.list();
}

/**
 * 15 s steady, `stall` s frozen as stunnel froze on loopback (keep-alive still served: the total
 * halves, new connections stop), a burst, 10 s steady.
 */
function freeze(stall: number, logged: boolean): HistoryEvent[] {
  const events: HistoryEvent[] = [];
  let s = 0;
  for (; s < 15; s++) events.push(...second(s, { completed: 100 }, { lines: 200 }));
  for (const end = s + stall; s < end; s++)
    events.push(...second(s, { completed: 50, keepAlive: 50, timeouts: 5 }, { lines: logged ? 40 : 0 }));
  events.push(...second(s++, { completed: 260 }, { lines: 300, late: 11 }));
  for (const end = s + 10; s < end; s++) events.push(...second(s, { completed: 100 }, { lines: 200 }));
  return events;
}

t.test(
  'a 20 s freeze: one stall and one silence, each about 20 s, with before, during and after',
  async (t) => {
    const incidents = detect(freeze(20, false));
    const stall = incidents.find((i) => i.kind === 'throughput-stall');
    const silence = incidents.find((i) => i.kind === 'log-silence');
    t.equal(incidents.length, 2, incidents.map((i) => i.kind).join(', '));
    t.match(stall, {
      node: 'stunnel',
      detector: 'throughput-stall',
      findings: {
        durationMs: 20_000,
        beforePerSecond: 100,
        keepAliveBeforePerSecond: 50,
        newConnectionsBeforePerSecond: 50,
        duringPerSecond: 50,
        keepAliveDuringPerSecond: 50,
        newConnectionsDuringPerSecond: 0,
        firstSecondAfter: 260,
        timeoutsDuring: 100,
        afterPerSecond: 100,
        burstAfter: 160,
      },
    });
    t.match(stall?.reasons, [/^new connections under half/]);
    t.notMatch(stall?.reasons.join(), /keep-alive/);
    t.match(silence, { node: 'stunnel', findings: { durationMs: 20_000, lateLinesAfter: 11 } });
  },
);

t.test('the same load with no freeze gives nothing', async (t) => {
  const events: HistoryEvent[] = [];
  for (let s = 0; s < 60; s++)
    events.push(...second(s, { completed: 90 + (s % 3) * 10 }, { lines: 150 + (s % 5) }));
  t.same(detect(events), []);
});

t.test('a stall while logging goes on is a stall, not a silence (a stalled backend)', async (t) => {
  const kinds = detect(freeze(20, true)).map((i) => i.kind);
  t.same(kinds, ['throughput-stall']);
});

t.test('two stalled seconds are no stall; a node that never logged is never silent', async (t) => {
  const events: HistoryEvent[] = [];
  let s = 0;
  for (; s < 12; s++) events.push(...second(s, { completed: 100 }, { lines: 0 }));
  for (; s < 14; s++) events.push(...second(s, { completed: 0 }, { lines: 0 }));
  for (; s < 20; s++) events.push(...second(s, { completed: 100 }, { lines: 0 }));
  t.same(detect(events), []);
});

t.test('a log quiet after the load stopped is no silence: an old load second says nothing now', async (t) => {
  const events: HistoryEvent[] = [];
  let s = 0;
  for (; s < 12; s++) events.push(...second(s, { completed: 100 }, { lines: 100 }));
  // The load stopped: no more load seconds, and the log goes quiet.
  for (; s < 30; s++) {
    const t = s * 1_000 + 1;
    events.push({
      t,
      at: new Date(Date.UTC(2026, 10, 30, 10) + t).toISOString(),
      source: 'log',
      type: 'rate',
      node: 'stunnel',
      lines: 0,
      late: 0,
    });
  }
  t.same(detect(events), []);
});

t.test('no load offered is no stall and no silence', async (t) => {
  const events: HistoryEvent[] = [];
  let s = 0;
  for (; s < 12; s++) events.push(...second(s, { completed: 100 }, { lines: 100 }));
  for (; s < 30; s++) events.push(...second(s, { completed: 0, offered: 0 }, { lines: 0 }));
  t.same(detect(events), []);
});

t.test("a soak's next load ramps up against its own level, not the last one's", async (t) => {
  const events: HistoryEvent[] = [];
  let s = 0;
  for (; s < 15; s++) events.push(...second(s, { completed: 100, keepAlive: 50 }));
  const started = second(s, { completed: 0 })[0] as HistoryEvent;
  events.push({ ...started, type: 'load-started' }); // the next episode's load
  // The next episode's keep-alive clients connect one by one: a few seconds under half of 50/s.
  for (const keepAlive of [1, 16, 16, 16, 30, 50, 50, 50, 50, 50, 50, 50, 50])
    events.push(...second(s++, { completed: 50 + keepAlive, keepAlive }));
  t.same(detect(events), [], 'a ramp-up is no stall');
  // Without the new load's start between them, the same seconds would be judged by the old level.
  const carried = events.filter((event) => event.type !== 'load-started');
  t.same(
    detect(carried).map((incident) => incident.kind),
    ['throughput-stall'],
  );
});

t.test("a dip soon after a stall is the stall's tail: the same incident, counted again", async (t) => {
  const events = freeze(20, false);
  let s = 15 + 20 + 1 + 10;
  // Keep-alive requests held through the freeze time out after it: their slots serve nothing for 4 s.
  for (const end = s + 4; s < end; s++)
    events.push(...second(s, { completed: 50, keepAlive: 0, timeouts: 8 }));
  for (const end = s + 5; s < end; s++) events.push(...second(s, { completed: 100 }));
  const stalls = detect(events).filter((incident) => incident.kind === 'throughput-stall');
  t.match(stalls, [{ count: 2, findings: { durationMs: 20_000, tailMs: 4_000 } }]);
  // The same dip a minute later is a stall of its own.
  const later = freeze(20, false);
  s = 15 + 20 + 1 + 10;
  for (const end = s + 50; s < end; s++) later.push(...second(s, { completed: 100 }));
  for (const end = s + 4; s < end; s++)
    later.push(...second(s, { completed: 50, keepAlive: 0, timeouts: 8 }));
  for (const end = s + 5; s < end; s++) later.push(...second(s, { completed: 100 }));
  t.equal(detect(later).filter((incident) => incident.kind === 'throughput-stall').length, 2);
});

t.test('a stall the load ends in: its figures end with the load', async (t) => {
  const events: HistoryEvent[] = [];
  let s = 0;
  for (; s < 15; s++) events.push(...second(s, { completed: 100, keepAlive: 50 }));
  // The backend stops: keep-alive and new connections alike, until the load's time is up.
  for (const end = s + 6; s < end; s++)
    events.push(...second(s, { completed: 4, keepAlive: 2, timeouts: 3 }));
  const last = second(s, { completed: 0 })[0] as HistoryEvent;
  events.push({ ...last, type: 'load-stopped' });
  const [stall] = detect(events);
  t.match(stall, {
    kind: 'throughput-stall',
    findings: {
      durationMs: 6_000,
      keepAliveBeforePerSecond: 50,
      keepAliveDuringPerSecond: 2,
      timeoutsDuring: 18,
      endedWithLoad: true,
    },
  });
  t.notOk('firstSecondAfter' in (stall?.findings ?? {}), 'no second after it');
  // A next load that starts later adds nothing to it.
  events.push({ ...(second(s + 5, { completed: 0 })[0] as HistoryEvent), type: 'load-started' });
  t.same(detect(events), [stall]);
});
