import { appendFile, rename, writeFile } from 'node:fs/promises';
import t from 'tap';
import { parseIcingaTimestamp } from '../systems/icinga/stack/icinga-log.ts';
import { LogTail } from './log-tail.ts';

t.test('follows a growing file, including a file that appears later and partial lines', async (t) => {
  const dir = t.testdir();
  const path = `${dir}/icinga2.log`;
  const tail = new LogTail(path, { pollMs: 10, parseTimestamp: parseIcingaTimestamp });
  t.teardown(() => tail.stop());
  const first = tail.waitFor(/first/, { timeoutMs: 2000 });
  await writeFile(path, '[2026-11-21 07:30:01 +0000] information/x: first line\nhalf of a');
  const line = await first;
  t.equal(line?.seq, 1);
  t.equal(line?.loggedAt, Date.UTC(2026, 10, 21, 7, 30, 1));
  const mark = tail.mark();
  await appendFile(path, ' line\n');
  const second = await tail.waitFor(/half of a line/, { afterSeq: mark, timeoutMs: 2000 });
  t.equal(second?.text, 'half of a line', 'a line written in two pieces is one line');
});

t.test('starts over when the file is replaced, and times out cleanly', async (t) => {
  const dir = t.testdir();
  const path = `${dir}/out.log`;
  await writeFile(path, 'old 1\nold 2\n');
  const tail = new LogTail(path, { pollMs: 10 });
  t.teardown(() => tail.stop());
  await tail.waitFor(/old 2/, { timeoutMs: 2000 });
  await writeFile(`${dir}/new.log`, 'new 1\n');
  await rename(`${dir}/new.log`, path);
  t.ok(await tail.waitFor(/new 1/, { afterSeq: tail.mark(), timeoutMs: 2000 }), 'read the replacement file');
  t.equal(await tail.waitFor(/never/, { timeoutMs: 50 }), undefined);
});

t.test('memory is bounded: only the last ringSize lines are kept, long lines are cut', async (t) => {
  const dir = t.testdir();
  const path = `${dir}/big.log`;
  const lines = Array.from({ length: 1000 }, (_, i) => `line ${i}`);
  await writeFile(path, `${lines.join('\n')}\n${'x'.repeat(5000)}\n`);
  const tail = new LogTail(path, { pollMs: 10, ringSize: 100, maxLineBytes: 1000 });
  await tail.waitFor(/^x+$/, { timeoutMs: 2000 });
  await tail.stop();
  const kept = tail.since(0);
  t.equal(kept.length, 100);
  t.equal(kept.at(-1)?.text.length, 1000, 'the long line was cut');
  t.equal(kept.at(-2)?.text, 'line 999');
});

t.test(
  'fromEnd: a log that was there before is not news; what it gains, and a file that replaces it, are',
  async (t) => {
    const dir = t.testdir();
    const path = `${dir}/icinga2.log`;
    await writeFile(path, 'from last month 1\nfrom last month 2\n');
    const tail = new LogTail(path, { pollMs: 10, fromEnd: true });
    t.teardown(() => tail.stop());
    await tail.looked();
    await appendFile(path, 'now 1\n');
    t.equal(
      (await tail.waitFor(/now 1/, { timeoutMs: 2000 }))?.seq,
      1,
      'the first line read is the first new one',
    );
    t.same(
      tail.since(0).map((line) => line.text),
      ['now 1'],
    );
    await writeFile(`${dir}/rotated.log`, 'after rotation 1\n');
    await rename(`${dir}/rotated.log`, path);
    t.ok(
      await tail.waitFor(/after rotation 1/, { timeoutMs: 2000 }),
      'the file that replaced it is read from its start',
    );
  },
);

t.test(
  'fromEnd: a log that was not there at the first look is read from its start once it comes',
  async (t) => {
    const dir = t.testdir();
    const path = `${dir}/later.log`;
    const tail = new LogTail(path, { pollMs: 10, fromEnd: true });
    t.teardown(() => tail.stop());
    await tail.looked();
    await writeFile(path, 'first line of a new log\n');
    t.equal((await tail.waitFor(/first line/, { timeoutMs: 2000 }))?.seq, 1);
  },
);

t.test(
  'a log rotated by rename: what was written to it just before is read, then the new file',
  async (t) => {
    const dir = t.testdir();
    const path = `${dir}/app.log`;
    await writeFile(path, 'one\n');
    // Slow polls: the last line lands in the old file and the rename follows before the tail looks.
    const tail = new LogTail(path, { pollMs: 300 });
    t.teardown(() => tail.stop());
    await tail.waitFor(/one/, { timeoutMs: 2000 });
    await appendFile(path, 'two, just before the rotation\n');
    await rename(path, `${path}.1`);
    await writeFile(path, 'three, in the new file\n');
    await tail.waitFor(/three/, { timeoutMs: 3000 });
    t.same(
      tail.since(0).map((line) => line.text),
      ['one', 'two, just before the rotation', 'three, in the new file'],
    );
  },
);
