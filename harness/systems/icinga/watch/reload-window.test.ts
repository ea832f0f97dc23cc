import t from 'tap';
import type { HistoryEvent } from '../../../run/history.ts';
import { ReloadWindow } from './reload-window.ts';

function window() {
  const events: string[] = [];
  let now = 0;
  const sink = {
    record: (source: string, type: string, fields: Partial<HistoryEvent>) => {
      events.push(`${now} ${type} ${fields.node} ${fields.kind}`);
      return { t: now, at: '', source, type, ...fields } as HistoryEvent;
    },
  };
  const reloads = new ReloadWindow(sink, 'master', () => now);
  const at = (ms: number) => {
    now = ms;
  };
  return { reloads, events, at };
}

t.test('a reload both sources see is one window, from the first begin to the last end', async (t) => {
  const { reloads, events, at } = window();
  at(0);
  reloads.begin('proc'); // the second worker
  at(2_000);
  reloads.begin('log'); // the old worker told to go
  at(3_000);
  reloads.end('log'); // the new listener
  at(4_000);
  reloads.end('proc'); // one worker again
  t.same(events, ['0 disruption-started master reload', '4000 disruption-ended master reload']);
});

t.test('a source that sees it late (the journal behind /proc) adds nothing, nor does its end', async (t) => {
  const { reloads, events, at } = window();
  at(0);
  reloads.begin('proc');
  reloads.end('proc');
  at(5_000);
  reloads.begin('log');
  at(6_000);
  reloads.end('log');
  t.equal(events.length, 2, 'one window');
  at(60_000);
  reloads.begin('log');
  at(61_000);
  reloads.end('log');
  t.same(
    events.slice(2),
    ['60000 disruption-started master reload', '61000 disruption-ended master reload'],
    'the next reload is one of its own',
  );
});

t.test('each source alone still records every reload; the same source again is a new one', async (t) => {
  const { reloads, events, at } = window();
  at(0);
  reloads.begin('proc');
  reloads.end('proc');
  at(1_000);
  reloads.begin('proc');
  reloads.end('proc');
  reloads.end('proc');
  reloads.end('log');
  t.equal(events.length, 4, 'two reloads; ends without a begin are no ends');
  at(30_000);
  reloads.begin('log');
  reloads.close();
  reloads.close();
  t.equal(events.length, 6, 'closing ends the open one, once');
});
