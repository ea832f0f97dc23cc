import { type OnReadOpts, Socket } from 'node:net';

/**
 * Large socket reads for the proxy's pumps. Node reads a socket 64 KiB at a time into a fresh
 * buffer; a bulk stream through the proxy then costs one read and one write syscall per 64 KiB,
 * which is most of the proxy's CPU. With `onread` the proxy reads up to 1 MiB per syscall into
 * a buffer it owns and hands that buffer on without copying.
 *
 * Sizes adapt per socket: a read that fills its buffer makes the next one 4x larger (up to
 * MAX_READ); small reads are copied out so the buffer is reused, and a socket that only sends
 * small chunks (handshakes, pings) drops back to MIN_READ. An idle connection so holds 16 KiB
 * per socket, not 1 MiB.
 *
 * A buffer handed on and written unchanged comes back through recycle() once the kernel has it:
 * reusing it saves the page faults (and the kernel's zeroing of fresh pages) that a new 1 MiB
 * buffer per read costs, about a third of the proxy's CPU on a bulk stream.
 */
export const MIN_READ = 16 * 1024;
export const MAX_READ = 1024 * 1024;

/** Written-out buffers kept per socket for reuse. */
const SPARES = 2;

export class AdaptiveReadBuffer {
  private size = MIN_READ;
  private current: Buffer | undefined;
  private readonly spares: Buffer[] = [];

  /** The buffer the next read fills (Node asks for one before every read). */
  next(): Buffer {
    this.current ??= this.spares.pop() ?? Buffer.allocUnsafe(this.size);
    return this.current;
  }

  /** `data` (from take()) is no longer used by anyone: its memory may take a later read. */
  recycle(data: Buffer): void {
    const whole = data.buffer;
    if (data.byteOffset !== 0 || whole.byteLength !== this.size || this.spares.length >= SPARES) return;
    if (this.current?.buffer === whole || this.spares.some((spare) => spare.buffer === whole)) return;
    this.spares.push(Buffer.from(whole, 0, whole.byteLength));
  }

  /**
   * The `length` bytes just read, as a buffer the caller may keep: the read buffer itself when
   * at least half of it was used (the next read gets a new one), else a copy.
   */
  take(length: number): Buffer {
    const buffer = this.next();
    if (length === buffer.length && this.size < MAX_READ) this.size = Math.min(this.size * 4, MAX_READ);
    if (length * 2 >= buffer.length) {
      this.current = undefined;
      return buffer.subarray(0, length);
    }
    const copy = Buffer.allocUnsafe(length);
    buffer.copy(copy, 0, 0, length);
    if (length * 16 < buffer.length && this.size > MIN_READ) {
      this.size = Math.max(this.size / 4, MIN_READ);
      this.current = undefined;
      this.spares.length = 0;
    }
    return copy;
  }
}

/**
 * Receives one read. `release` may be called once nothing holds `data` any more (it was written
 * unchanged and the write completed); a chunk kept or changed by a toxic is simply not released.
 */
export type Deliver = (data: Buffer, release?: () => void) => void;

/** The `onread` option that delivers each read as an owned buffer to `deliver`. */
export function largeReads(deliver: Deliver): OnReadOpts {
  const reads = new AdaptiveReadBuffer();
  return {
    buffer: () => reads.next(),
    callback: (length) => {
      const data = reads.take(length);
      deliver(data, () => reads.recycle(data));
      return true; // the pump pauses the socket itself when its sink is full
    },
  };
}

/**
 * An accepted socket re-wrapped with `onread`. Node offers `onread` only to sockets it creates
 * for connect(), so the accepted socket (from a server with pauseOnConnect, so it has not read
 * yet) gives its handle to a new Socket and is then destroyed without it, which also releases
 * its slot in the server's connection count. Where the handle is not there (another runtime,
 * changed internals), the accepted socket is returned as it is and its pump reads 'data' events.
 */
export function adoptWithLargeReads(
  accepted: Socket,
  deliver: Deliver,
): { socket: Socket; adopted: boolean } {
  const internals = accepted as unknown as { _handle?: { readStart?: unknown } | null };
  const handle = internals._handle;
  if (!handle || typeof handle.readStart !== 'function') return { socket: accepted, adopted: false };
  const socket = new Socket({
    handle,
    allowHalfOpen: true,
    onread: largeReads(deliver),
  } as ConstructorParameters<typeof Socket>[0]);
  internals._handle = null;
  accepted.destroy();
  return { socket, adopted: true };
}
