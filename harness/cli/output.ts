import { HuntError } from '../errors.ts';
import type { Progress } from '../progress.ts';

export interface OutputOptions {
  json: boolean;
  stdout?: NodeJS.WriteStream;
  stderr?: NodeJS.WriteStream;
  env?: NodeJS.ProcessEnv;
}

/**
 * The CLI's voice. Progress goes to stderr: on a TTY one status line rewritten in place, else
 * plain lines a log or CI can keep. Results go to stdout: text, or one JSON document (--json).
 */
export class Output implements Progress {
  readonly json: boolean;
  private readonly stdout: NodeJS.WriteStream;
  private readonly stderr: NodeJS.WriteStream;
  private readonly tty: boolean;
  private readonly color: boolean;
  private statusShown = false;

  constructor(options: OutputOptions) {
    const env = options.env ?? process.env;
    this.json = options.json;
    this.stdout = options.stdout ?? process.stdout;
    this.stderr = options.stderr ?? process.stderr;
    this.tty = Boolean(this.stderr.isTTY) && env.TERM !== 'dumb';
    this.color = this.tty && env.NO_COLOR === undefined && env.FORCE_COLOR !== '0';
  }

  /** Whether progress goes to a terminal (a rewritten status line) or to a log (plain lines). */
  get isTty(): boolean {
    return this.tty;
  }

  step(text: string): void {
    this.clearStatus();
    this.stderr.write(`${this.paint('1', '==>')} ${text}\n`);
  }

  detail(text: string): void {
    if (this.tty) {
      const width = Math.max(20, (this.stderr.columns ?? 100) - 4);
      this.stderr.write(`\r\x1b[2K    ${this.paint('2', text.slice(0, width))}`);
      this.statusShown = true;
    } else {
      this.stderr.write(`    ${text}\n`);
    }
  }

  /** The command's result: `text` for people, `data` for --json. */
  result(data: unknown, text: string): void {
    this.clearStatus();
    this.stdout.write(
      this.json ? `${JSON.stringify(data, null, 2)}\n` : text.endsWith('\n') ? text : `${text}\n`,
    );
  }

  /**
   * An error: one line on stderr, and with --json also a JSON document on stdout, unless the
   * caller puts the error into its own result document (`jsonToo: false`).
   */
  error(error: unknown, options: { jsonToo?: boolean } = {}): void {
    this.clearStatus();
    const code = error instanceof HuntError ? error.code : 'HH_INTERNAL';
    const message = error instanceof Error ? error.message : String(error);
    if (this.json && options.jsonToo !== false) {
      const details = error instanceof HuntError ? error.details : {};
      this.stdout.write(`${JSON.stringify({ error: { code, message, details } }, null, 2)}\n`);
    }
    this.stderr.write(`${this.paint('31', 'hunt: error')} [${code}] ${message}\n`);
    if (!(error instanceof HuntError) && error instanceof Error && error.stack) {
      this.stderr.write(`${error.stack}\n(this is a bug in hunt; please report it with the lines above)\n`);
    }
  }

  private clearStatus(): void {
    if (this.statusShown) this.stderr.write('\r\x1b[2K');
    this.statusShown = false;
  }

  private paint(sgr: string, text: string): string {
    return this.color ? `\x1b[${sgr}m${text}\x1b[0m` : text;
  }
}
