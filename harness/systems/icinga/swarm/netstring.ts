import { ErrorCodes, HuntError } from '../../../errors.ts';

/**
 * Netstrings as Icinga 2 frames JSON-RPC: `<decimal length>:<payload>,`. The reader rejects what
 * Icinga's rejects: a leading zero, an empty length, more than 9 length digits, a missing ':'
 * or ','. Messages above `maxMessageBytes` are refused before any of their payload is buffered.
 */
export class NetstringError extends HuntError {
  readonly reason:
    | 'leading-zero'
    | 'empty-length'
    | 'too-many-digits'
    | 'bad-length-char'
    | 'missing-comma'
    | 'too-large';

  constructor(reason: NetstringError['reason'], message: string) {
    super(ErrorCodes.PROTOCOL, message, { details: { reason } });
    this.name = 'NetstringError';
    this.reason = reason;
  }
}

export function encodeNetstring(payload: string | Buffer): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  return Buffer.concat([Buffer.from(`${body.length}:`, 'ascii'), body, Buffer.from(',', 'ascii')]);
}

const MAX_DIGITS = 9;

/**
 * A streaming parser: push() arbitrary chunks, get whole payloads back. Its buffer never holds
 * more than one message's payload plus the length prefix, and at most `maxMessageBytes`.
 * After an error it stays failed: the connection must be dropped, as Icinga does.
 */
export class NetstringParser {
  readonly maxMessageBytes: number;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private expected: number | undefined;
  private digits = '';
  private failed: NetstringError | undefined;

  constructor(maxMessageBytes = 64 * 1024 * 1024) {
    this.maxMessageBytes = maxMessageBytes;
  }

  /** Bytes held right now (for bounds checks). */
  get bufferedBytes(): number {
    return this.buffered + this.digits.length;
  }

  push(chunk: Buffer): Buffer[] {
    if (this.failed) throw this.failed;
    const messages: Buffer[] = [];
    let offset = 0;
    try {
      while (offset < chunk.length) {
        if (this.expected === undefined) {
          offset = this.readLength(chunk, offset);
          continue;
        }
        const want = this.expected + 1 - this.buffered; // payload plus the trailing comma
        const take = Math.min(want, chunk.length - offset);
        this.chunks.push(chunk.subarray(offset, offset + take));
        this.buffered += take;
        offset += take;
        if (this.buffered === this.expected + 1) {
          const whole = Buffer.concat(this.chunks, this.buffered);
          if (whole[this.expected] !== 0x2c) {
            throw new NetstringError(
              'missing-comma',
              `netstring of ${this.expected} bytes is not followed by ','`,
            );
          }
          messages.push(whole.subarray(0, this.expected));
          this.chunks = [];
          this.buffered = 0;
          this.expected = undefined;
        }
      }
    } catch (error) {
      this.failed = error as NetstringError;
      this.chunks = [];
      this.buffered = 0;
      throw error;
    }
    return messages;
  }

  private readLength(chunk: Buffer, start: number): number {
    let offset = start;
    while (offset < chunk.length) {
      const byte = chunk[offset++] as number;
      if (byte === 0x3a) {
        if (this.digits.length === 0)
          throw new NetstringError('empty-length', 'netstring with an empty length');
        const length = Number(this.digits);
        if (length > this.maxMessageBytes) {
          throw new NetstringError(
            'too-large',
            `netstring of ${length} bytes exceeds the limit of ${this.maxMessageBytes}`,
          );
        }
        this.expected = length;
        this.digits = '';
        return offset;
      }
      if (byte < 0x30 || byte > 0x39) {
        throw new NetstringError(
          'bad-length-char',
          `netstring length contains byte 0x${byte.toString(16).padStart(2, '0')}`,
        );
      }
      if (this.digits === '0')
        throw new NetstringError('leading-zero', 'netstring length with a leading zero');
      this.digits += String.fromCharCode(byte);
      if (this.digits.length > MAX_DIGITS)
        throw new NetstringError('too-many-digits', 'netstring length has more than 9 digits');
    }
    return offset;
  }
}
