import t from 'tap';
import { disruptionOf } from '../../../run/disruption.ts';
import type { HistoryEvent } from '../../../run/history.ts';
import { recordReload } from './reload-record.ts';

function sink() {
  const events: HistoryEvent[] = [];
  return {
    events,
    record: (source: string, type: string, fields = {}) =>
      events.push({ t: events.length, at: '', source, type, ...fields }),
  };
}

t.test('a reload is told as started, signalled, then one ending with the fields readers use', async (t) => {
  const history = sink();
  const record = recordReload(history, { step: 3, master: 'master2', via: 'signal', delayMs: 40 });
  record.signalled();
  record.finished({ newPid: 77, barrierMs: 900 });
  record.failed('too late');
  t.same(
    history.events.map((e) => e.type),
    ['reload-started', 'reload-signalled', 'reload-finished'],
    'a second ending is not written',
  );
  t.match(history.events[0], { source: 'reload', step: 3, master: 'master2', via: 'signal', delayMs: 40 });
  t.match(history.events[1], { step: 3, master: 'master2', via: 'signal' });
  t.match(history.events[2], { step: 3, master: 'master2', newPid: 77, barrierMs: 900 });
  t.same(
    history.events.map((e) => disruptionOf(e)),
    [
      { node: 'master2', kind: 'reload', phase: 'started' },
      undefined,
      { node: 'master2', kind: 'reload', phase: 'ended' },
    ],
    'the pair opens and closes a reload window on that node',
  );
});

t.test('a failed reload carries its error and what else is known', async (t) => {
  const history = sink();
  recordReload(history, { step: 0, master: 'master1', via: 'stage' }).failed('HTTP 500', {
    masterDown: true,
  });
  t.match(history.events[1], {
    source: 'reload',
    type: 'reload-failed',
    master: 'master1',
    error: 'HTTP 500',
    masterDown: true,
  });
});
