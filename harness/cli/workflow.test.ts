import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { validateWorkflow } from '@action-validator/core';
import t from 'tap';
import { projectRoot } from '../paths.ts';
import { huntInProcess } from '../test-kits/hunt-in-process.ts';

const exec = promisify(execFile);
const workflowPath = join(projectRoot, '.github/workflows/nightly.yml');
const workflow = await readFile(workflowPath, 'utf8');

t.test('the nightly workflow validates (action-validator, the schema GitHub uses)', async (t) => {
  const { stdout, stderr } = await exec(join(projectRoot, 'node_modules/.bin/action-validator'), [
    workflowPath,
  ]);
  t.equal(`${stdout}${stderr}`.trim(), '', 'the CLI finds nothing');
  t.same(validateWorkflow(workflow).errors, []);
  // The validator is not a rubber stamp: a job without runs-on is refused.
  t.ok(validateWorkflow(workflow.replace(/runs-on: ubuntu-24.04\n/, '')).errors.length > 0);
});

/** README.md and every page under docs/, as one text: where a user reads about the commands. */
async function documentation(): Promise<string> {
  const pages = (await readdir(join(projectRoot, 'docs'), { recursive: true }))
    .filter((name) => name.endsWith('.md'))
    .map((name) => join('docs', name));
  const texts = await Promise.all(
    ['README.md', ...pages].map((page) => readFile(join(projectRoot, page), 'utf8')),
  );
  return texts.join('\n');
}

t.test('its steps are the documented hunt commands, with options the commands have', async (t) => {
  const readme = await documentation();
  const commands = [...workflow.matchAll(/npx --no-install hunt (\w+)([^\n|]*(?:\\\n[^\n|]*)*)/g)].map(
    (m) => ({
      name: m[1] as string,
      options: [...(m[2] ?? '').matchAll(/\s(--[a-z-]+)/g)].map((o) => o[1] as string),
    }),
  );
  t.ok(commands.length >= 4, `${commands.length} hunt steps`);
  for (const { name, options } of commands) {
    t.match(readme, new RegExp(`npx hunt ${name}\\b`), `the docs show hunt ${name}`);
    const help = await helpOf(name);
    for (const option of options) t.ok(help.includes(option), `hunt ${name} has ${option}`);
  }
  t.match(readme, /\.github\/workflows\/nightly\.yml/, 'the docs show the workflow');
});

async function helpOf(command: string): Promise<string> {
  return (await huntInProcess([command, '--help'])).stdout;
}
