import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { validateWorkflow } from '@action-validator/core';
import t from 'tap';
import { projectRoot } from '../paths.ts';
import { main } from './hunt.ts';

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

t.test("its steps are the README's own hunt commands, with options the commands have", async (t) => {
  const readme = await readFile(join(projectRoot, 'README.md'), 'utf8');
  const commands = [...workflow.matchAll(/npx --no-install hunt (\w+)([^\n|]*(?:\\\n[^\n|]*)*)/g)].map(
    (m) => ({
      name: m[1] as string,
      options: [...(m[2] ?? '').matchAll(/\s(--[a-z-]+)/g)].map((o) => o[1] as string),
    }),
  );
  t.ok(commands.length >= 4, `${commands.length} hunt steps`);
  for (const { name, options } of commands) {
    t.match(readme, new RegExp(`npx hunt ${name}\\b`), `the README shows hunt ${name}`);
    const help = await helpOf(name);
    for (const option of options) t.ok(help.includes(option), `hunt ${name} has ${option}`);
  }
  t.match(readme, /\.github\/workflows\/nightly\.yml/, 'the README shows the workflow');
});

async function helpOf(command: string): Promise<string> {
  const writes: string[] = [];
  const write = process.stdout.write;
  process.stdout.write = ((chunk: string) => writes.push(String(chunk)) > 0) as typeof write;
  try {
    await main([command, '--help']);
  } finally {
    process.stdout.write = write;
  }
  return writes.join('');
}
