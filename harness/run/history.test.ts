import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { History, type HistoryEvent } from './history.ts';
import { readHistory } from './history-reader.ts';

const lines = readHistory;

t.test('events are written as JSON lines with a monotonic t and a wall clock', async (t) => {
  const path = join(t.testdir(), 'history.jsonl');
  const history = await History.open(path);
  history.record('reload', 'reload-started', { master: 'master1' });
  history.record('reload', 'reload-finished', { master: 'master1', barrierMs: 612 });
  await history.close();
  const [started, finished] = await lines(path);
  t.match(started, { source: 'reload', type: 'reload-started', master: 'master1' });
  t.match(finished, { type: 'reload-finished', barrierMs: 612 });
  t.ok((finished?.t ?? -1) >= (started?.t ?? 0));
  t.ok(!Number.isNaN(Date.parse(started?.at ?? '')));
});

t.test('routine events stop at their budget; reload events go on until the hard cap', async (t) => {
  const path = join(t.testdir(), 'history.jsonl');
  // The system names its routine events; the proxy's are routine anyway.
  const history = await History.open(path, {
    routineBytes: 2_000,
    maxBytes: 6_000,
    routineEvents: ['swarm:handshake-done'],
  });
  const seen: string[] = [];
  history.subscribe((event) => seen.push(event.type));
  for (let i = 0; i < 100; i++) {
    history.record('swarm', 'handshake-done', { endpoint: `sim-${i}`, master: 'master1' });
    history.record('reload', 'reload-finished', { step: i, master: 'master1' });
  }
  await history.close();
  const written = await lines(path);
  const count = (type: string) => written.filter((e) => e.type === type).length;
  t.ok(
    count('handshake-done') > 5 && count('handshake-done') < 40,
    `${count('handshake-done')} routine events kept`,
  );
  const finished = count('reload-finished');
  t.ok(finished > count('handshake-done'), `reload events outlast them (${finished})`);
  t.ok(finished < 100, 'and stop at the hard cap');
  t.equal(seen.length, 200, 'subscribers saw every event');
  const truncated = written.at(-1) as HistoryEvent & { dropped: Record<string, number> };
  t.equal(truncated.type, 'history-truncated');
  t.same(truncated.dropped, {
    'swarm:handshake-done': 100 - count('handshake-done'),
    'reload:reload-finished': 100 - finished,
  });
  const size = (await readFile(path)).length;
  t.ok(size < 6_000 + 500, `the file stays within its cap (${size} bytes)`);
});

t.test("the proxy's connections are routine with no system's list; other events are not", async (t) => {
  const path = join(t.testdir(), 'history.jsonl');
  const history = await History.open(path, { routineBytes: 1_000, maxBytes: 100_000 });
  for (let i = 0; i < 50; i++) {
    history.record('proxy', 'connection-opened', { connection: i });
    history.record('swarm', 'handshake-done', { endpoint: `sim-${i}` });
  }
  await history.close();
  const written = await lines(path);
  const count = (type: string) => written.filter((e) => e.type === type).length;
  t.ok(
    count('connection-opened') < 50,
    `proxy connections stop at the routine budget (${count('connection-opened')})`,
  );
  t.equal(count('handshake-done'), 50, 'an event no one named routine is written within the whole budget');
});
