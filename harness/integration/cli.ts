import type { ChildProcess } from 'node:child_process';
import { spawnHunt } from '../runner/hunt-child.ts';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunningCli {
  child: ChildProcess;
  /** What it printed so far. */
  output(): { stdout: string; stderr: string };
  /** Its end: exit code (-1 when killed by a signal) and the signal. */
  done: Promise<CliResult & { signal: NodeJS.Signals | null }>;
}

/** Starts the real `hunt` CLI in a child process, as a user or CI would; returns while it runs. */
export function startHunt(args: string[], env: NodeJS.ProcessEnv = {}): RunningCli {
  // The runner's own spawn: the same Node flags a user's `hunt` gets.
  const child = spawnHunt(args, env);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const done = new Promise<CliResult & { signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? -1, signal, stdout, stderr }));
  });
  return { child, output: () => ({ stdout, stderr }), done };
}

/** Runs the real `hunt` CLI to its end. */
export async function hunt(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const { code, stdout, stderr } = await startHunt(args, env).done;
  return { code, stdout, stderr };
}
