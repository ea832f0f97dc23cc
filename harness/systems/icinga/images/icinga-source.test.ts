import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import * as tar from 'tar';
import { ErrorCodes } from '../../../errors.ts';
import { findIcingaSource } from './icinga-source.ts';

/** The names of the entries a source archive holds. */
async function entries(archive: NodeJS.ReadableStream): Promise<string[]> {
  const names: string[] = [];
  const parser = new tar.Parser({
    onReadEntry: (entry) => {
      names.push(entry.path);
      entry.resume();
    },
  });
  for await (const chunk of archive) parser.write(chunk as Buffer);
  parser.end();
  return names.sort();
}

async function sourceTree(dir: string, version: string): Promise<void> {
  await mkdir(join(dir, 'lib'), { recursive: true });
  await writeFile(join(dir, 'ICINGA2_VERSION'), `Version: ${version}\nRevision: 1\n`);
  await writeFile(join(dir, 'lib', 'base.cpp'), `// ${version}\n`);
}

function git(dir: string, ...args: string[]): string {
  return execFileSync('git', ['-C', dir, ...args], {
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 't',
      GIT_AUTHOR_EMAIL: 't@t',
      GIT_COMMITTER_NAME: 't',
      GIT_COMMITTER_EMAIL: 't@t',
    },
  }).trim();
}

t.test('a git repository gives the release tag, whatever is checked out', async (t) => {
  const dir = t.testdir();
  git(dir, 'init', '-q');
  await sourceTree(dir, '2.14.3');
  git(dir, 'add', '.');
  git(dir, 'commit', '-q', '-m', 'release 2.14.3');
  git(dir, 'tag', 'v2.14.3');
  const tagged = git(dir, 'rev-parse', 'HEAD');
  await sourceTree(dir, '2.14.4');
  git(dir, 'commit', '-q', '-am', 'release 2.14.4');
  git(dir, 'tag', 'v2.14.4');
  await writeFile(join(dir, 'lib', 'base.cpp'), '// work in progress\n');

  const source = await findIcingaSource(dir, '2.14.3');
  t.equal(source.id, `git ${tagged}`);
  t.same(await entries(source.archive()), ['src/', 'src/ICINGA2_VERSION', 'src/lib/', 'src/lib/base.cpp']);
  t.equal((await findIcingaSource(dir, '2.14.4')).id, `git ${git(dir, 'rev-parse', 'v2.14.4')}`);

  const missing = await t.rejects(findIcingaSource(dir, '2.16.5'), { code: ErrorCodes.VERSION_UNKNOWN });
  t.match(String(missing), /has no tag v2\.16\.5\. Fetch the tags/);
});

t.test('a bare clone serves as well as a checkout', async (t) => {
  const dir = t.testdir();
  const work = join(dir, 'work');
  await mkdir(work);
  git(work, 'init', '-q');
  await sourceTree(work, '2.16.5');
  git(work, 'add', '.');
  git(work, 'commit', '-q', '-m', 'release');
  git(work, 'tag', 'v2.16.5');
  execFileSync('git', ['clone', '-q', '--bare', work, join(dir, 'bare.git')]);
  const source = await findIcingaSource(join(dir, 'bare.git'), '2.16.5');
  t.match(source.id, /^git [0-9a-f]{40}$/);
  t.ok((await entries(source.archive())).includes('src/lib/base.cpp'));
});

t.test('an unpacked release tarball must be the version asked for', async (t) => {
  const dir = t.testdir();
  await sourceTree(dir, '2.15.6');
  await mkdir(join(dir, 'build'));
  await writeFile(join(dir, 'build', 'CMakeCache.txt'), 'old build output');
  const source = await findIcingaSource(dir, '2.15.6');
  t.match(source.id, /^tree [0-9a-f]{16}$/);
  t.equal((await findIcingaSource(dir, '2.15.6')).id, source.id, 'the same tree hashes the same');
  const names = await entries(source.archive());
  t.ok(names.includes('src/lib/base.cpp'));
  t.notOk(
    names.some((name) => name.includes('CMakeCache')),
    'build output is left out',
  );
  await t.rejects(findIcingaSource(dir, '2.15.5'), {
    code: ErrorCodes.VERSION_UNKNOWN,
    message: /is Icinga 2\.15\.6, not 2\.15\.5/,
  });
});

t.test('a folder that is no source at all, or no folder', async (t) => {
  const dir = t.testdir({ 'README.md': 'hello' });
  await t.rejects(findIcingaSource(dir, '2.14.4'), {
    code: ErrorCodes.USAGE,
    message: /no ICINGA2_VERSION file/,
  });
  await t.rejects(findIcingaSource(join(dir, 'README.md'), '2.14.4'), {
    code: ErrorCodes.USAGE,
    message: /is not a folder/,
  });
});
