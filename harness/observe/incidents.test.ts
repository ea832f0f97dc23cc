import { readdir, readFile } from 'node:fs/promises';
import t from 'tap';
import type { HistoryEvent } from '../run/history.ts';
import { IncidentLedger, IncidentRecorder, standaloneIncidents } from './incidents.ts';

const at = (second: number) => `2026-11-21T10:00:${String(second).padStart(2, '0')}.000Z`;

t.test('a storm of the same failure is one incident with a count; another master is another', async (t) => {
  const dir = t.testdir();
  const events: Array<Partial<HistoryEvent>> = [];
  const recorder = new IncidentRecorder(dir, {
    record: (source, type, fields) => events.push({ source, type, ...fields }),
  });
  for (let i = 0; i < 50; i++) {
    recorder.report({
      kind: 'tls-handshake-failed',
      at: at(i),
      node: 'master1',
      peer: `10.0.0.${i % 3}`,
      reason: 'excessive message size',
      summary: 's',
      dedupKey: 'tls|master1',
    });
  }
  recorder.report({
    kind: 'tls-handshake-failed',
    at: at(51),
    node: 'master2',
    reason: 'excessive message size',
    summary: 's',
    dedupKey: 'tls|master2',
    evidence: { 'log.txt': 'line\n' },
  });
  await recorder.close();
  const [first, second] = recorder.list();
  t.equal(recorder.list().length, 2);
  t.equal(first?.count, 50);
  t.equal(first?.firstSeen, at(0), 'first and last seen come from the events, not the clock');
  t.equal(first?.lastSeen, at(49));
  t.same(first?.peers, ['10.0.0.0', '10.0.0.1', '10.0.0.2']);
  t.equal(events.filter((e) => e.type === 'incident-opened').length, 2, 'opened once each');
  t.same(await readdir(`${dir}/incidents`), ['001', '002']);
  const written = JSON.parse(await readFile(`${dir}/incidents/001/incident.json`, 'utf8'));
  t.equal(written.count, 50, 'the file has the final count');
  t.equal(await readFile(`${dir}/incidents/002/log.txt`, 'utf8'), 'line\n');
  t.equal(second?.evidence[0], 'log.txt');
});

t.test('findings and evidence attach to an incident by id or dedup key, and count nothing', async (t) => {
  const dir = t.testdir();
  const recorder = new IncidentRecorder(dir, { record() {} });
  recorder.report({ kind: 'crash', at: at(1), node: 'master1', summary: 'x', dedupKey: 'crash|m1' });
  recorder.report({
    kind: 'finding',
    at: at(2),
    summary: '',
    attachTo: 1,
    findings: { persistence: { state: 'persistent' } },
  });
  recorder.report({
    kind: 'evidence',
    at: at(3),
    summary: '',
    attachTo: 'crash|m1',
    evidence: { 'x.txt': 'x\n' },
  });
  recorder.report({ kind: 'evidence', at: at(3), summary: '', attachTo: 7, evidence: { 'y.txt': 'y\n' } });
  await recorder.close();
  const written = JSON.parse(await readFile(`${dir}/incidents/001/incident.json`, 'utf8'));
  t.match(written, { count: 1, findings: { persistence: { state: 'persistent' } }, evidence: ['x.txt'] });
  t.equal(recorder.list().length, 1, 'attaching to an incident that does not exist opens nothing');
});

t.test('the ledger is bounded: 1,000 incidents, then signals are counted as dropped', async (t) => {
  const ledger = new IncidentLedger();
  for (let i = 0; i < 1_010; i++)
    ledger.apply({ kind: 'critical-log', at: at(0), summary: 's', reason: `r${i}` });
  t.equal(ledger.list().length, 1000);
  t.equal(ledger.dropped, 10);
  t.equal(ledger.firstDroppedAt, at(0), 'and when the first was: after it, not every incident is known');
  const big = ledger.apply({
    kind: 'critical-log',
    at: at(1),
    summary: 's',
    reason: 'r1',
    evidence: { 'big.txt': 'x'.repeat(300_000) },
  });
  t.ok((big?.evidence[0]?.[1].length ?? 0) < 270_000, 'an evidence file is cut at 256 KiB');
});

t.test('an incident that absorbs others makes them its parts, now and when they open later', async (t) => {
  const ledger = new IncidentLedger();
  const at = '2026-12-06T10:00:00.000Z';
  const early = ledger.apply({ kind: 'part', at, node: 'a', summary: '' })?.incident;
  const other = ledger.apply({ kind: 'other', at, node: 'a', summary: '' })?.incident;
  const whole = ledger.apply({
    kind: 'whole',
    at,
    node: 'a',
    summary: '',
    absorbs: { kinds: ['part'], nodes: ['a', 'b'] },
  });
  t.same(
    whole?.absorbed.map((i) => i.id),
    [early?.id],
    'the part already open is named, so its file is rewritten',
  );
  t.equal(early?.partOf, whole?.incident.id);
  t.equal(other?.partOf, undefined, 'another kind is not a part');
  const later = ledger.apply({ kind: 'part', at, node: 'b', summary: '' })?.incident;
  t.equal(later?.partOf, whole?.incident.id);
  const elsewhere = ledger.apply({ kind: 'part', at, node: 'c', summary: '' })?.incident;
  t.equal(elsewhere?.partOf, undefined, 'a node it does not name is not a part');
  t.same(
    standaloneIncidents(ledger.list()).map((i) => i.kind),
    ['other', 'whole', 'part'],
  );
});

t.test('the recorder rewrites an absorbed incident with its partOf', async (t) => {
  const dir = t.testdir();
  const recorder = new IncidentRecorder(dir, { record() {} });
  const at = '2026-12-06T10:00:00.000Z';
  recorder.report({ kind: 'part', at, node: 'a', summary: '' });
  recorder.report({ kind: 'whole', at, node: 'a', summary: '', absorbs: { kinds: ['part'], nodes: ['a'] } });
  await recorder.close();
  const part = JSON.parse(await readFile(`${dir}/incidents/001/incident.json`, 'utf8'));
  t.equal(part.partOf, 2);
});
