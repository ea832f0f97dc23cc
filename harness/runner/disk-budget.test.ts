import t from 'tap';
import { bytesOnDisk } from '../run/run-folder.ts';
import { budgetFor, type FolderFile, planUpkeep } from './disk-budget.ts';

const MiB = 1024 * 1024;
const file = (path: string, mb: number): FolderFile => ({ path, bytes: mb * MiB, mtimeMs: 0 });

t.test('a cap is shared: fixed budgets for what grows, the rest for incidents', async (t) => {
  const budget = budgetFor(5000 * MiB, 2);
  t.equal(budget.historyBytes, 1250 * MiB);
  t.equal(budget.ring.files, 8);
  t.equal(budget.ring.fileMb, 62, '20% of the cap over 2 nodes x 8 files');
  const fixed =
    budget.historyBytes + 3 * 2 * budget.keylogBytes + 2 * 8 * budget.ring.fileMb * MiB + budget.logBytes;
  t.ok(
    fixed < budget.capBytes * 0.75,
    `fixed parts ${Math.round(fixed / MiB)} MiB leave a quarter for incidents`,
  );
  t.equal(budgetFor(256 * MiB, 2).ring.fileMb, 3, 'a small cap gets a small ring, never an empty one');
  t.strictSame(
    budgetFor(5e9, 1, 512e6).ring,
    { files: 8, fileMb: 64 },
    "a chosen ring, in tcpdump's 1e6-byte units",
  );
  t.strictSame(budgetFor(5e9, 1, 8_999_999).ring, { files: 8, fileMb: 1 }, 'never more than asked');
});

t.test('under the cap: only logs over their share rotate', async (t) => {
  const budget = budgetFor(1000 * MiB);
  const plan = planUpkeep(
    [file('history.jsonl', 100), file('logs/master1/icinga2.log', 30), file('logs/master1/container.log', 1)],
    budget,
  );
  t.same(
    plan.rotate,
    ['logs/master1/icinga2.log'],
    '100 MiB of logs shared by 2 files, half each before rotating',
  );
  t.same(plan.remove, []);
});

t.test('near the cap: windows go oldest first, then cut streams; evidence text never', async (t) => {
  const budget = budgetFor(1000 * MiB);
  const files = [
    file('history.jsonl', 250),
    file('incidents/001/window.pcapng', 200),
    file('incidents/001/capture.pcapng', 50),
    file('incidents/001/capture.txt', 1),
    file('incidents/002/window.pcapng', 200),
    file('incidents/002/capture.pcapng', 50),
    file('incidents/003/window.pcapng', 200),
    file('incidents/003/incident.json', 1),
  ];
  const plan = planUpkeep(files, budget);
  t.same(plan.remove, ['incidents/001/window.pcapng'], 'just enough (952 MiB -> 752), oldest first');
  t.ok(plan.after <= 900 * MiB);

  const crowded = planUpkeep([...files, file('captures/master1/ring0', 650)], budget);
  t.same(crowded.remove.slice(0, 3), [
    'incidents/001/window.pcapng',
    'incidents/002/window.pcapng',
    'incidents/003/window.pcapng',
  ]);
  t.same(
    crowded.remove.slice(3),
    ['incidents/001/capture.pcapng', 'incidents/002/capture.pcapng'],
    'then cut streams',
  );
  t.notOk(crowded.remove.some((path) => path.endsWith('.txt') || path.endsWith('.json')));
});

t.test('a window kept once for several incidents counts once, and goes with all its links', async (t) => {
  const budget = budgetFor(1000 * MiB);
  const shared = (path: string) => ({ ...file(path, 300), inode: '1:42' });
  const files = [
    file('history.jsonl', 250),
    shared('incidents/001/capture.pcapng'),
    shared('incidents/002/capture.pcapng'),
    shared('incidents/003/capture.pcapng'),
    { ...file('incidents/004/capture.pcapng', 300), inode: '1:43' },
  ];
  t.equal(bytesOnDisk(files), 850 * MiB, 'the shared window once: under the 900 MiB line, nothing goes');
  t.same(planUpkeep(files, budget).remove, []);
  const crowded = planUpkeep([...files, file('captures/master1/ring0', 100)], budget);
  t.same(
    crowded.remove,
    ['incidents/001/capture.pcapng', 'incidents/002/capture.pcapng', 'incidents/003/capture.pcapng'],
    'the oldest window, every link of it: only then is it off the disk',
  );
  t.equal(crowded.after, 650 * MiB);
});
