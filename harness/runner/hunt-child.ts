import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../paths.ts';

const HUNT = join(projectRoot, 'harness/cli/hunt.ts');

/**
 * Node flags every hunt process starts with (also in hunt.ts's first line and package.json's
 * scripts): a young generation of fixed size. Node 24 sizes it from the machine's memory and V8
 * grows and shrinks it as it likes: on a 24 GB machine it went from 4 to 128 MB and back, so a
 * soak's RSS swung by 90 MB with nothing leaking, and its RSS trend said nothing. Two 16 MB
 * semi-spaces (V8's former default) cost a few more scavenges and keep the footprint steady.
 */
export const HUNT_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=16', '--min-semi-space-size=16'];

/**
 * `hunt <args>` as a child process on this Node, output piped, colours off: what the runner
 * starts for a matrix cell or a report refresh (exactly the command a user would type).
 */
export function spawnHunt(args: readonly string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, [...HUNT_NODE_FLAGS, HUNT, ...args], {
    env: { ...process.env, ...env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}
