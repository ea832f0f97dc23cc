import { connect, type TLSSocket } from 'node:tls';
import { API_PORT } from './stack/icinga-config.ts';
import type { StartedIcingaStack } from './stack/icinga-stack.ts';
import type { JsonRpcMessage } from './swarm/messages.ts';
import { encodeNetstring, NetstringParser } from './swarm/netstring.ts';

/** Who the connection claims to be: no client certificate, or one whose CN has no Endpoint. */
export type JsonRpcIdentity =
  | { kind: 'anonymous' }
  | { kind: 'stranger'; certificatePem: string; keyPem: string };

/** How a connection ended, as the driver counts it. */
export type JsonRpcEnd = 'closed-by-node' | 'handshake-failed' | 'timeout' | 'error' | 'closed-by-us';

export interface JsonRpcSession {
  /** Resolves once TLS is up; rejects with the handshake error. */
  ready: Promise<void>;
  send(message: JsonRpcMessage): void;
  /** Messages the node sent, as they came (at most 100 kept). */
  readonly received: JsonRpcMessage[];
  /** How it ended, and OpenSSL's or the socket's words where it failed. */
  ended: Promise<{ end: JsonRpcEnd; error?: string }>;
  close(): void;
}

const MAX_KEPT = 100;

/**
 * A raw JSON-RPC connection to a node of the harness's own stack (never anything else): TLS
 * to its cluster port, trusting the stack's CA, with no client certificate or a stranger's, and
 * netstring-framed messages, as Icinga speaks them. Closed by the node, by a timeout, or by us.
 */
export function openJsonRpc(
  stack: StartedIcingaStack,
  node: string,
  identity: JsonRpcIdentity,
  options: { timeoutMs?: number } = {},
): JsonRpcSession {
  const target = stack.node(node);
  const socket: TLSSocket = connect({
    host: target.address,
    port: API_PORT,
    servername: node,
    ca: stack.ca.certificatePem,
    ...(identity.kind === 'stranger' ? { cert: identity.certificatePem, key: identity.keyPem } : {}),
  });
  const received: JsonRpcMessage[] = [];
  const parser = new NetstringParser(1024 * 1024);
  let secure = false;
  let closing = false;
  const ready = new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', () => {
      secure = true;
      resolve();
    });
    socket.once('error', reject);
    // Closed before TLS was up (our timeout, a node that never answered): not ready, ever.
    socket.once('close', () => reject(new Error('closed before the TLS handshake finished')));
  });
  ready.catch(() => undefined);
  const ended = new Promise<{ end: JsonRpcEnd; error?: string }>((resolve) => {
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ end: 'timeout' });
    }, options.timeoutMs ?? 5_000);
    const finish = (result: { end: JsonRpcEnd; error?: string }) => {
      clearTimeout(timer);
      resolve(result);
    };
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const message of parser.push(chunk))
          if (received.length < MAX_KEPT)
            received.push(JSON.parse(message.toString('utf8')) as JsonRpcMessage);
      } catch {
        // Not our concern here: the driver records how the connection ended.
      }
    });
    socket.once('error', (error: Error) =>
      finish({ end: secure ? 'error' : 'handshake-failed', error: error.message.trim() }),
    );
    socket.once('close', () => finish({ end: closing ? 'closed-by-us' : 'closed-by-node' }));
  });
  return {
    ready,
    received,
    ended,
    send(message) {
      socket.write(encodeNetstring(JSON.stringify(message)));
    },
    close() {
      closing = true;
      socket.destroy();
    },
  };
}
