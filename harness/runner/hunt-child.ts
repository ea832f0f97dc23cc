import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../paths.ts';

const HUNT = join(projectRoot, 'harness/cli/hunt.ts');

/**
 * `hunt <args>` as a child process on this Node, output piped, colours off: what the runner
 * starts for a matrix cell or a report refresh (exactly the command a user would type).
 */
export function spawnHunt(args: readonly string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, [HUNT, ...args], {
    env: { ...process.env, ...env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}
