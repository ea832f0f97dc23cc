import { readdir, readFile } from 'node:fs/promises';
import t from 'tap';
import type { HistoryEvent } from '../history/history.ts';
import { IncidentRecorder } from './incidents.ts';

t.test('a storm of the same failure is one incident with a count; another master is another', async (t) => {
  const dir = t.testdir();
  const events: Array<Partial<HistoryEvent>> = [];
  const recorder = new IncidentRecorder(dir, {
    record: (source, type, fields) => events.push({ source, type, ...fields }),
  });
  for (let i = 0; i < 50; i++) {
    recorder.report({
      kind: 'tls-handshake-failed',
      master: 'master1',
      peer: `10.0.0.${i % 3}`,
      reason: 'excessive message size',
      summary: 's',
      dedupKey: 'tls|master1',
    });
  }
  recorder.report({
    kind: 'tls-handshake-failed',
    master: 'master2',
    reason: 'excessive message size',
    summary: 's',
    dedupKey: 'tls|master2',
    evidence: { 'log.txt': 'line\n' },
  });
  await recorder.close();
  const [first, second] = recorder.list();
  t.equal(recorder.list().length, 2);
  t.equal(first?.count, 50);
  t.same(first?.peers, ['10.0.0.0', '10.0.0.1', '10.0.0.2']);
  t.equal(events.filter((e) => e.type === 'incident-opened').length, 2, 'opened once each');
  t.same(await readdir(`${dir}/incidents`), ['001', '002']);
  const written = JSON.parse(await readFile(`${dir}/incidents/001/incident.json`, 'utf8'));
  t.equal(written.count, 50, 'the file has the final count');
  t.equal(await readFile(`${dir}/incidents/002/log.txt`, 'utf8'), 'line\n');
  t.equal(second?.evidence[0], 'log.txt');
});

t.test('findings are added to an incident and written', async (t) => {
  const dir = t.testdir();
  const recorder = new IncidentRecorder(dir, { record() {} });
  const incident = recorder.report({ kind: 'crash', master: 'master1', summary: 'x' });
  if (!incident) throw new Error('no incident');
  recorder.annotate(incident, { persistence: { state: 'persistent' } });
  await recorder.close();
  t.match(JSON.parse(await readFile(`${dir}/incidents/001/incident.json`, 'utf8')), {
    findings: { persistence: { state: 'persistent' } },
  });
});
