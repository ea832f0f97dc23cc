import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { eventually } from '../test-kits/eventually.ts';
import { HarnessRecorder } from './harness-recorder.ts';

t.test("the harness's footprint: RSS and heap, the history's size, the folder's now and then", async (t) => {
  const dir = t.testdir({
    'history.jsonl': 'x'.repeat(1234),
    incidents: { '001': { 'capture.pcapng': 'y'.repeat(766) } },
  });
  const events: Array<{ source: string; type: string; fields?: Record<string, unknown> }> = [];
  const recorder = HarnessRecorder.start(
    { record: (source, type, fields) => events.push({ source, type, fields }) },
    dir,
    5,
  );
  t.teardown(() => recorder.stop());
  await eventually('three samples', () => events.length >= 3);
  await writeFile(join(dir, 'history.jsonl'), 'x'.repeat(5000));
  await eventually('a sample after the history grew', () => events.at(-1)?.fields?.historyBytes === 5000);
  recorder.stop();
  const stopped = events.length;

  t.match(events[0], {
    source: 'observe',
    type: 'harness-resources',
    fields: { rssKb: Number, heapUsedKb: Number, historyBytes: 1234, folderBytes: 2000 },
  });
  t.ok((events[0]?.fields?.rssKb as number) > 10_000, 'RSS in KB');
  t.notOk('folderBytes' in (events[1]?.fields ?? {}), 'the folder is walked on a few samples only');
  await new Promise((resolve) => setTimeout(resolve, 30));
  t.equal(events.length, stopped, 'nothing after stop');
});

t.test('a run folder without its history yet: RSS alone', async (t) => {
  const events: Array<Record<string, unknown> | undefined> = [];
  const recorder = HarnessRecorder.start(
    { record: (_source, _type, fields) => events.push(fields) },
    t.testdir(),
    5,
  );
  t.teardown(() => recorder.stop());
  await eventually('a sample', () => events.length >= 1);
  t.notOk('historyBytes' in (events[0] ?? {}));
  t.equal(events[0]?.folderBytes, 0);
});
