import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { projectRoot } from './paths.ts';
import { type CommandCheck, checkDocs, huntLinesOf } from './test-kits/doc-check.ts';
import { huntInProcess } from './test-kits/hunt-in-process.ts';

/**
 * The CLI's own parser on a documented line: with --help appended, hunt parses every option
 * (an unknown one, or one missing its value, is refused) and finds the scenario it names, then
 * prints help instead of running anything.
 */
const acceptedByHunt: CommandCheck = async (argv) => {
  const { code, stdout } = await huntInProcess([...argv, '--help', '--json']);
  if (code === 0) return undefined;
  return (JSON.parse(stdout) as { error?: { message?: string } }).error?.message ?? `exit ${code}`;
};

async function pages(): Promise<string[]> {
  const docs = await readdir(join(projectRoot, 'docs'), { recursive: true });
  return [
    'README.md',
    'CONTRIBUTING.md',
    ...docs.filter((name) => name.endsWith('.md')).map((name) => join('docs', name)),
  ].sort();
}

t.test('every link, anchor and hunt line in README.md and docs/ holds', async (t) => {
  const files = await pages();
  t.ok(
    files.includes(join('docs', 'getting-started.md')),
    `the newcomer's first page is among ${files.length}`,
  );
  const problems = await checkDocs(projectRoot, files, acceptedByHunt);
  t.same(
    problems.map((p) => `${p.file}:${p.line}: ${p.problem}`),
    [],
    'a broken one names its page and line',
  );
});

t.test(
  'the check finds a broken link, a missing anchor, a link out of the repository and a bad line',
  async (t) => {
    const dir = t.testdir({ docs: { 'there.md': '# A heading\n\n## Twice\n\n## Twice\n' } });
    await writeFile(
      join(dir, 'page.md'),
      [
        '# Page',
        '',
        '[fine](docs/there.md#a-heading) [second of two](docs/there.md#twice-1) [here](#page)',
        '[web](https://example.org/x) [gone](docs/gone.md) [no anchor](docs/there.md#nowhere)',
        '[outside](../elsewhere.md)',
        '',
        '```sh',
        'npx hunt run canary --reloads 3   # fine',
        'npx hunt run canary --frobnicate 3',
        '$ hunt list && npx hunt run no-such-scenario',
        '```',
        '',
      ].join('\n'),
    );
    const problems = await checkDocs(dir, ['page.md'], acceptedByHunt);
    t.same(
      problems.map((p) => [p.line, p.problem.replace(/: .*/s, ':')]),
      [
        [4, 'docs/gone.md:'],
        [4, 'docs/there.md#nowhere:'],
        [5, '../elsewhere.md points outside the repository'],
        [9, 'hunt run canary --frobnicate 3 is refused:'],
        [10, 'hunt run no-such-scenario is refused:'],
      ],
    );
    t.match(problems[3]?.problem, /Unknown option '--frobnicate'/);
    t.match(problems[4]?.problem, /no-such-scenario/);
  },
);

t.test('hunt lines are read as a shell would: npx, prompts, continuations, quotes, &&', async (t) => {
  const lines = huntLinesOf(
    [
      '```sh',
      'npm ci && npx hunt run reload-storm \\',
      "  --param 'load=1' # a comment",
      '$ hunt report "results/a b"',
      'echo hunt is not a command here',
      '```',
      '```',
      'hunt run in-a-block-with-no-language',
      '```',
    ].join('\n'),
  );
  t.same(lines, [
    { argv: ['run', 'reload-storm', '--param', 'load=1'], line: 2 },
    { argv: ['report', 'results/a b'], line: 4 },
  ]);
});
