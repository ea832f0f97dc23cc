import { createWriteStream, mkdirSync, renameSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';

/**
 * An SSLKEYLOGFILE-format file (one "LABEL client_random secret" line each) that TLS sessions
 * append to, so captures can be decrypted later (`editcap --inject-secrets`). Bounded: past
 * `maxBytes` the file is rotated to `<path>.1` (one generation kept), so an overnight run with
 * millions of reconnects cannot fill the disk while the recent secrets stay at hand.
 */
export class KeylogFile {
  readonly path: string;
  private readonly maxBytes: number;
  private stream: WriteStream;
  private bytes = 0;
  private failed = false;
  rotations = 0;

  /** `onError` hears the first write error (a full disk); writing stops there. */
  private readonly onError: (error: Error) => void;

  constructor(path: string, maxBytes = 128 * 1024 * 1024, onError: (error: Error) => void = () => undefined) {
    this.path = path;
    this.onError = onError;
    this.maxBytes = maxBytes;
    mkdirSync(dirname(path), { recursive: true });
    this.stream = this.open('a');
  }

  /** Node's 'keylog' event hands over a line with its newline. */
  readonly write = (line: Buffer): void => {
    if (this.failed) return;
    if (this.bytes + line.length > this.maxBytes) this.rotate();
    this.bytes += line.length;
    this.stream.write(line, this.fail);
  };

  async close(): Promise<void> {
    if (this.failed) return;
    await new Promise<void>((resolve) => {
      this.stream.once('error', () => resolve());
      this.stream.end(resolve);
    });
  }

  private open(flags: 'a' | 'w'): WriteStream {
    const stream = createWriteStream(this.path, { flags, mode: 0o600 });
    stream.on('error', this.fail);
    return stream;
  }

  // Write callbacks hear the error first ('error' waits for the file to close).
  private readonly fail = (error: Error | null | undefined): void => {
    if (!error || this.failed) return;
    this.failed = true;
    this.onError(error);
  };

  private rotate(): void {
    this.stream.end();
    renameSync(this.path, `${this.path}.1`);
    this.stream = this.open('w');
    this.bytes = 0;
    this.rotations++;
  }
}
