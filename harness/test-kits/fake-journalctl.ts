import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Test } from 'tap';

// journalctl stood in for by a script first on PATH: it says what it was asked (args.log), and
// follows with the entries of entries.jsonl after the cursor it was given, then waits. With a
// file fail-once, it fails once as journalctl does on a journal it cannot read.
const FAKE = `#!/bin/sh
echo "$*" >> "$FAKE_DIR/args.log"
if [ -e "$FAKE_DIR/fail-once" ]; then rm "$FAKE_DIR/fail-once"; echo "No journal files were found." >&2; exit 1; fi
case " $* " in *" --lines 1 "*) cat "$FAKE_DIR/check.out"; exit "$(cat "$FAKE_DIR/check.rc")";; esac
after=$(echo "$*" | sed -n 's/.*--after-cursor \\([^ ]*\\).*/\\1/p')
if [ -n "$after" ]; then sed -n "/\\"__CURSOR\\":\\"$after\\"/,\\$p" "$FAKE_DIR/entries.jsonl" | tail -n +2
else cat "$FAKE_DIR/now.jsonl" 2>/dev/null; fi
exec sleep 30
`;

/**
 * Puts the stand-in journalctl, in `dir`, first on PATH for the test; returns `dir`, where the test
 * writes check.out and check.rc (what a --lines 1 check prints and exits with), now.jsonl (what a
 * follow from now gives), entries.jsonl (what a follow after a cursor reads from) and fail-once.
 */
export async function fakeJournalctl(t: Test, dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'journalctl'), FAKE);
  await chmod(join(dir, 'journalctl'), 0o755);
  await writeFile(join(dir, 'check.out'), '');
  await writeFile(join(dir, 'check.rc'), '0');
  const path = process.env.PATH;
  process.env.PATH = `${dir}:${path}`;
  process.env.FAKE_DIR = dir;
  t.teardown(() => {
    process.env.PATH = path;
    delete process.env.FAKE_DIR;
  });
  return dir;
}
