import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { eventually } from '../test-kits/eventually.ts';
import { fakeJournalctl } from '../test-kits/fake-journalctl.ts';
import { checkJournal, type JournalEntry, JournalFollower, journalField } from './journal-follower.ts';

const entry = (cursor: string, message: string) =>
  `${JSON.stringify({ __CURSOR: cursor, MESSAGE: message })}\n`;

t.test('a field that is not UTF-8 comes as bytes and is read as text', async (t) => {
  const bytes: JournalEntry = { MESSAGE: [...Buffer.from('Client TLS')], PRIORITY: '2', X: null };
  t.equal(journalField(bytes, 'MESSAGE'), 'Client TLS');
  t.equal(journalField(bytes, 'PRIORITY'), '2');
  t.equal(journalField(bytes, 'X'), undefined);
});

t.test(
  'the follower writes each entry as a line, and after a new root goes on from its cursor',
  async (t) => {
    const dir = await fakeJournalctl(t, t.testdir());
    await writeFile(join(dir, 'now.jsonl'), entry('c1', 'first') + entry('c2', 'second\nline'));
    await writeFile(
      join(dir, 'entries.jsonl'),
      entry('c1', 'first') + entry('c2', 'x') + entry('c3', 'third'),
    );
    const file = join(dir, 'icinga2.log');
    const follower = await JournalFollower.start(
      { root: '/proc/1/root', unit: 'icinga2.service' },
      file,
      (e) => (journalField(e, 'MESSAGE') === 'skip' ? undefined : `> ${journalField(e, 'MESSAGE')}`),
    );
    t.teardown(() => follower.stop());
    await eventually('the first entries', async () => (await readFile(file, 'utf8')).includes('second'));
    t.equal(await readFile(file, 'utf8'), '> first\n> second line\n', 'one line each, an entry never split');
    await follower.repoint('/proc/2/root');
    await eventually('the entry after the cursor', async () =>
      (await readFile(file, 'utf8')).includes('third'),
    );
    await follower.repoint('/proc/2/root');
    await follower.stop();
    await follower.repoint('/proc/3/root');
    t.equal(await readFile(file, 'utf8'), '> first\n> second line\n> third\n', 'nothing lost, nothing twice');
    const asked = (await readFile(join(dir, 'args.log'), 'utf8')).trim().split('\n');
    t.same(asked, [
      '--no-pager --root /proc/1/root --unit icinga2.service --follow --output json --lines 0',
      '--no-pager --root /proc/2/root --unit icinga2.service --follow --output json --after-cursor c2',
    ]);
  },
);

t.test('--journal checked: no journalctl, an unreadable journal, a unit with no entries', async (t) => {
  const source = { root: '/', unit: 'icinga2.service' };
  const dir = await fakeJournalctl(t, t.testdir());
  const path = process.env.PATH;
  process.env.PATH = join(dir, 'nothing-here');
  await t.rejects(checkJournal(source), { code: 'HH_USAGE', message: /^journalctl is not on this host/ });
  process.env.PATH = path;
  await t.rejects(checkJournal(source), {
    code: 'HH_USAGE',
    message: /^The journal under \/ holds nothing the unit icinga2.service logged/,
  });
  await writeFile(join(dir, 'check.rc'), '1');
  await t.rejects(checkJournal({ ...source, root: '/proc/9/root' }), {
    code: 'HH_USAGE',
    message: /^journalctl cannot read the journal under \/proc\/9\/root/,
  });
  await writeFile(join(dir, 'check.rc'), '0');
  await writeFile(join(dir, 'check.out'), 'Dec 07 00:53:04 host icinga2[155]: started\n');
  await checkJournal(source);
  t.match(
    await readFile(join(dir, 'args.log'), 'utf8'),
    /--no-pager _SYSTEMD_UNIT=icinga2.service --lines 1 --quiet/,
  );
});

t.test(
  'a journalctl that ends by itself is said, and started again from when the follower began',
  async (t) => {
    const dir = await fakeJournalctl(t, t.testdir());
    await writeFile(join(dir, 'fail-once'), '');
    await writeFile(join(dir, 'now.jsonl'), entry('c1', 'after the failure'));
    const file = join(dir, 'icinga2.log');
    const ended: string[] = [];
    const follower = await JournalFollower.start(
      { root: '/', unit: 'icinga2.service' },
      file,
      (e) => journalField(e, 'MESSAGE'),
      (why) => ended.push(why),
    );
    t.teardown(() => follower.stop());
    await eventually('the entry, from the second journalctl', async () =>
      (await readFile(file, 'utf8')).includes('after the failure'),
    );
    t.same(ended, ['journalctl ended (exit 1): No journal files were found.']);
    const asked = (await readFile(join(dir, 'args.log'), 'utf8')).trim().split('\n');
    t.equal(asked[0], '--no-pager --unit icinga2.service --follow --output json --lines 0');
    t.match(
      asked[1],
      /^--no-pager --unit icinga2\.service --follow --output json --since @\d+$/,
      'from its start, not from now',
    );
  },
);
