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
  rotations = 0;

  constructor(path: string, maxBytes = 128 * 1024 * 1024) {
    this.path = path;
    this.maxBytes = maxBytes;
    mkdirSync(dirname(path), { recursive: true });
    this.stream = createWriteStream(path, { flags: 'a', mode: 0o600 });
  }

  /** Node's 'keylog' event hands over a line with its newline. */
  readonly write = (line: Buffer): void => {
    if (this.bytes + line.length > this.maxBytes) this.rotate();
    this.bytes += line.length;
    this.stream.write(line);
  };

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.stream.end(resolve));
  }

  private rotate(): void {
    this.stream.end();
    renameSync(this.path, `${this.path}.1`);
    this.stream = createWriteStream(this.path, { flags: 'w', mode: 0o600 });
    this.bytes = 0;
    this.rotations++;
  }
}
