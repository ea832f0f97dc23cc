import type { Writable } from 'node:stream';

/**
 * Resolves when a stream whose write() returned false can take more ('drain'), or is gone
 * ('close'): a writer waiting only for 'drain' would wait forever on a socket the peer reset.
 */
export function drainedOrClosed(stream: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.once('drain', done);
    stream.once('close', done);
  });
}
