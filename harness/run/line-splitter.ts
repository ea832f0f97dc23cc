/**
 * Splits a byte stream into lines with bounded memory: a line longer than `maxLineBytes` is never
 * held whole; its bytes are dropped up to the next newline and it is counted in `overlong`. (A
 * history line that long is not one the harness wrote: a corrupt or foreign file.)
 */
export class LineSplitter {
  readonly maxLineBytes: number;
  /** Lines dropped for being longer than maxLineBytes. */
  overlong = 0;
  private parts: Buffer[] = [];
  private held = 0;
  private dropping = false;

  constructor(maxLineBytes: number) {
    this.maxLineBytes = maxLineBytes;
  }

  /** Bytes held for the line in progress (never more than maxLineBytes). */
  get heldBytes(): number {
    return this.held;
  }

  /** The whole lines that `chunk` completes, without their newline. */
  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    let start = 0;
    for (let newline = chunk.indexOf(0x0a, start); newline !== -1; newline = chunk.indexOf(0x0a, start)) {
      this.take(chunk.subarray(start, newline));
      if (!this.dropping) lines.push(Buffer.concat(this.parts, this.held).toString('utf8'));
      this.parts = [];
      this.held = 0;
      this.dropping = false;
      start = newline + 1;
    }
    this.take(chunk.subarray(start));
    return lines;
  }

  /** What is left after the last newline (a cut last line), if anything. */
  end(): string | undefined {
    const rest =
      this.dropping || this.held === 0 ? undefined : Buffer.concat(this.parts, this.held).toString('utf8');
    this.parts = [];
    this.held = 0;
    this.dropping = false;
    return rest;
  }

  private take(bytes: Buffer): void {
    if (this.dropping || bytes.length === 0) return;
    if (this.held + bytes.length > this.maxLineBytes) {
      this.dropping = true;
      this.overlong++;
      this.parts = [];
      this.held = 0;
      return;
    }
    // A copy: the caller's chunk may be reused.
    this.parts.push(Buffer.from(bytes));
    this.held += bytes.length;
  }
}
