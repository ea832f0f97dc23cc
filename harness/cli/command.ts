import type { Output } from './output.ts';

export interface Command {
  name: string;
  summary: string;
  /** The whole --help text. */
  help: string;
  /** Returns the exit code; throws HuntError for failures the user can act on. */
  run(argv: string[], output: Output): Promise<number>;
}

/** Prints a command's --help text; `--help` always succeeds. */
export function showHelp(output: Output, help: string): number {
  output.result({ help }, help);
  return 0;
}
