import { execFile as execFileCallback } from 'node:child_process';
import { chmod, mkdir, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import { ErrorCodes, HuntError } from '../errors.ts';

const execFile = promisify(execFileCallback);

/** How long gcore may hold the process stopped while it writes (a large heap takes a while). */
const GCORE_TIMEOUT_MS = 120_000;

/**
 * A core file of a running host process, by gdb's gcore, written to `<prefix>.<pid>` with mode
 * 0600 in a folder of mode 0700: a core holds the process's private keys and passwords, so only
 * root reads it, and it is never bundled. gcore stops the process while it writes (seconds for
 * a daemon's few hundred MB) and lets it run on.
 */
export async function dumpCore(pid: number, prefix: string): Promise<{ path: string; bytes: number }> {
  await mkdir(dirname(prefix), { recursive: true, mode: 0o700 });
  await chmod(dirname(prefix), 0o700);
  const path = `${prefix}.${pid}`;
  try {
    // gdb itself, not the gcore wrapper script: a timeout must end the process that holds the
    // daemon stopped (the kernel detaches a killed tracer's tracee, which then runs on).
    await execFile('gdb', ['-nx', '--batch', '-p', String(pid), '-ex', `gcore ${path}`, '-ex', 'detach'], {
      timeout: GCORE_TIMEOUT_MS,
      killSignal: 'SIGKILL',
    });
    await stat(path);
  } catch (error) {
    await rm(path, { force: true });
    throw new HuntError(
      ErrorCodes.CAPTURE_TOOL,
      `gcore could not write a core of process ${pid}: ${(error as Error).message.split('\n')[0]}`,
      { cause: error },
    );
  }
  await chmod(path, 0o600);
  return { path, bytes: (await stat(path)).size };
}
