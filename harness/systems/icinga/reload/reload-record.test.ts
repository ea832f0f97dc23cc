import t from 'tap';
import { DisruptionWindows, disruptionOf } from '../../../run/disruption.ts';
import type { HistoryEvent } from '../../../run/history.ts';
import { recordReload, reloadDisruptionOf } from './reload-record.ts';

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
    history.events.map((e) => reloadDisruptionOf(e)),
    [
      { node: 'master2', kind: 'reload', phase: 'started' },
      undefined,
      { node: 'master2', kind: 'reload', phase: 'ended' },
    ],
    'the pair opens and closes a reload window on that node',
  );
  t.same(
    history.events.map((e) => disruptionOf(e)),
    [undefined, undefined, undefined],
    "the machinery's own reader knows no reloads",
  );
  const windows = new DisruptionWindows(reloadDisruptionOf);
  const blind = new DisruptionWindows();
  windows.see(history.events[0] as HistoryEvent);
  blind.see(history.events[0] as HistoryEvent);
  t.ok(windows.around('master2', 1, 0), 'windows handed the reader see the reload open');
  t.notOk(blind.around('master2', 1, 0), 'windows without it do not');
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
