import { main } from '../cli/hunt.ts';

/**
 * For tests: one `hunt` invocation in this process, its stdout kept and its stderr dropped, so
 * a test can read what hunt printed without a child process (for --help and parse checks; a
 * command that starts containers belongs in integration/ with its child-process kit).
 */
export async function huntInProcess(argv: string[]): Promise<{ code: number; stdout: string }> {
  let stdout = '';
  const write = process.stdout.write;
  const writeErr = process.stderr.write;
  process.stdout.write = ((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    return { code: await main(argv), stdout };
  } finally {
    process.stdout.write = write;
    process.stderr.write = writeErr;
  }
}
