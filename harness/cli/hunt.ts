#!/usr/bin/env -S node --max-semi-space-size=16 --min-semi-space-size=16
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCodes, exitCodeFor, HuntError } from '../errors.ts';
import { projectRoot } from '../paths.ts';
import type { Command } from './command.ts';
import { bundle } from './commands/bundle.ts';
import { clean } from './commands/clean.ts';
import { doctor } from './commands/doctor.ts';
import { images } from './commands/images.ts';
import { list } from './commands/list.ts';
import { matrix } from './commands/matrix.ts';
import { merge } from './commands/merge.ts';
import { proxy } from './commands/proxy.ts';
import { report } from './commands/report.ts';
import { run } from './commands/run.ts';
import { soak } from './commands/soak.ts';
import { watch } from './commands/watch.ts';
import { installSignalHandlers } from './interrupt.ts';
import { Output } from './output.ts';
import { systemNames } from './systems.ts';

const commands: Command[] = [
  run,
  soak,
  watch,
  list,
  report,
  matrix,
  merge,
  bundle,
  doctor,
  images,
  proxy,
  clean,
];

function usage(): string {
  const width = Math.max(...commands.map((command) => command.name.length));
  return [
    'Usage: hunt <command> [options]',
    '',
    'handshake-hunter: reproduce rare cluster and TLS failures under storms and faults, and keep',
    `the evidence. Systems: ${systemNames.join(', ')} (hunt list shows their scenarios).`,
    '',
    'Commands:',
    ...commands.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`),
    '',
    'Every command takes --help and --json. Progress goes to stderr, results to stdout.',
    'Exit codes: 0 ok (every expectation met), 1 an expectation not met (an incident the scenario',
    'did not expect, or an expected one missing; a regression for matrix and merge), 2 bad input or',
    'environment, 3 harness failure, 130 interrupted.',
  ].join('\n');
}

/** Runs one hunt invocation and returns its exit code; never throws. */
export async function main(argv: string[]): Promise<number> {
  const output = new Output({ json: argv.includes('--json') });
  const [name, ...rest] = argv;
  try {
    if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
      output.result({ commands: commands.map(({ name, summary }) => ({ name, summary })) }, usage());
      return 0;
    }
    if (name === '--version') {
      const pkg = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { version: string };
      output.result({ version: pkg.version }, pkg.version);
      return 0;
    }
    const command = commands.find((candidate) => candidate.name === name);
    if (!command) {
      throw new HuntError(
        ErrorCodes.USAGE,
        `Unknown command "${name}". Commands: ${commands.map((c) => c.name).join(', ')}. See: hunt --help`,
      );
    }
    return await command.run(rest, output);
  } catch (error) {
    output.error(error);
    return exitCodeFor(error);
  }
}

if (import.meta.main) {
  installSignalHandlers();
  const code = await main(process.argv.slice(2));
  process.exitCode = code;
  // A command has returned: nothing it started may keep the process alive (a leaked handle would
  // hang a CI job). Unref'd, so a clean exit is not delayed; `hunt proxy` never returns here.
  setTimeout(() => process.exit(code), 3_000).unref();
}
