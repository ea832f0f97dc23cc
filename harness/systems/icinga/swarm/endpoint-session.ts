import { connect, type SecureContext, type TLSSocket } from 'node:tls';
import type { EventSink } from '../../../run/history.ts';
import {
  type CheckOutcome,
  checkResultMessage,
  type ExecuteCommandParams,
  heartbeatMessage,
  helloMessage,
  type JsonRpcMessage,
} from './messages.ts';
import { encodeNetstring, NetstringParser } from './netstring.ts';

/** A master the swarm connects to. */
export interface SwarmTarget {
  /** Its endpoint name: SNI and the name its certificate must carry. */
  name: string;
  host: string;
  port: number;
  /** Its Icinga version as a number (21306): our Hello must say the same. */
  version: number;
}

export type SessionState = 'idle' | 'connecting' | 'handshaking' | 'established' | 'closed';

export interface SessionHooks {
  events: EventSink;
  keylog: ((line: Buffer) => void) | undefined;
  answer: (params: ExecuteCommandParams) => CheckOutcome;
  /** Called once per connection when it ends, with whether it had been established. */
  onClosed: (session: EndpointSession, established: boolean) => void;
  onEstablished: (session: EndpointSession) => void;
}

export interface SessionFaults {
  /** Read for readMs, then stop reading for pauseMs, over and over. */
  slowReader?: { readMs: number; pauseMs: number };
}

/** Largest message we accept from a master; authenticated peers have no limit in Icinga. */
const MAX_MESSAGE_BYTES = 256 * 1024 * 1024;

/**
 * One simulated endpoint's connection to one master: mTLS with the endpoint's certificate,
 * Hello, heartbeats, answers to checks. A master must not be able to tell it from an agent.
 */
export class EndpointSession {
  readonly endpoint: string;
  readonly target: SwarmTarget;
  state: SessionState = 'idle';
  /** Consecutive failed attempts: drives the backoff. */
  failures = 0;
  /** Consecutive refused TCP connects (the master between workers): retried quickly. */
  refusals = 0;
  lastReceivedAt = 0;
  lastSentAt = 0;
  /** When the last established connection ended (for reconnect timing). */
  disconnectedAt: number | undefined;
  /** performance.now() when the current (or last) connection was established. */
  establishedAt: number | undefined;
  private socket: TLSSocket | undefined;
  private readonly context: SecureContext;
  private readonly hooks: SessionHooks;
  private readonly faults: SessionFaults;
  private slowTimer: NodeJS.Timeout | undefined;
  private closeReason: string | undefined;

  constructor(
    endpoint: string,
    target: SwarmTarget,
    context: SecureContext,
    hooks: SessionHooks,
    faults: SessionFaults = {},
  ) {
    this.endpoint = endpoint;
    this.target = target;
    this.context = context;
    this.hooks = hooks;
    this.faults = faults;
  }

  connect(): void {
    if (this.state === 'connecting' || this.state === 'handshaking' || this.state === 'established') return;
    const { events } = this.hooks;
    // localPort joins once TCP is up: it names the connection in a capture (the flight recorder).
    const fields: { endpoint: string; master: string; localPort?: number } = {
      endpoint: this.endpoint,
      master: this.target.name,
    };
    this.state = 'connecting';
    this.closeReason = undefined;
    events.record('swarm', 'connect-attempt', { ...fields, attempt: this.failures + 1 });
    const started = performance.now();
    let tcpAt = 0;
    let established = false;
    let handshakeDone = false;
    const parser = new NetstringParser(MAX_MESSAGE_BYTES);
    const socket = connect({
      host: this.target.host,
      port: this.target.port,
      servername: this.target.name,
      secureContext: this.context,
      // The master's certificate is verified against the stack CA and its endpoint name.
      rejectUnauthorized: true,
    });
    this.socket = socket;
    socket.setNoDelay(true);
    if (this.hooks.keylog) socket.on('keylog', this.hooks.keylog);
    socket.once('connect', () => {
      tcpAt = performance.now();
      fields.localPort = socket.localPort;
      this.state = 'handshaking';
      events.record('swarm', 'tcp-connected', { ...fields, ms: round(tcpAt - started) });
    });
    socket.once('secureConnect', () => {
      handshakeDone = true;
      const cipher = socket.getCipher();
      events.record('swarm', 'handshake-done', {
        ...fields,
        protocol: socket.getProtocol(),
        cipher: cipher?.name,
        ms: round(performance.now() - (tcpAt || started)),
      });
      this.send(helloMessage(this.target.version));
      this.startSlowReader();
    });
    socket.on('data', (chunk: Buffer) => {
      this.lastReceivedAt = Date.now();
      let messages: Buffer[];
      try {
        messages = parser.push(chunk);
      } catch (error) {
        this.close(`protocol error: ${(error as Error).message}`);
        return;
      }
      for (const raw of messages) {
        if (!established) {
          // In TLS 1.3 the client finishes before the server has judged its certificate: only
          // a message from the master proves it accepted us.
          established = true;
          this.state = 'established';
          this.establishedAt = performance.now();
          this.failures = 0;
          this.refusals = 0;
          this.hooks.onEstablished(this);
        }
        this.handle(raw);
      }
    });
    let failureRecorded = false;
    socket.on('error', (error: Error & { code?: string }) => {
      this.closeReason ??= error.code ? `${error.code}: ${error.message}` : error.message;
      if (established || failureRecorded) return;
      failureRecorded = true;
      if (!tcpAt) {
        // Refused or unreachable: the listener is down (a reload in progress), not a TLS matter.
        if (error.code === 'ECONNREFUSED') this.refusals++;
        events.record('swarm', 'connect-failed', { ...fields, error: error.message, code: error.code });
      } else {
        events.record('swarm', 'handshake-failed', {
          ...fields,
          phase: handshakeDone ? 'after-client-finished' : 'handshake',
          error: error.message,
          code: error.code,
        });
      }
    });
    socket.once('close', () => {
      this.stopSlowReader();
      this.state = 'closed';
      this.socket = undefined;
      if (!established) this.failures++;
      if (!established && handshakeDone && !failureRecorded) {
        // TLS 1.3: our Finished went out, then the peer hung up without a word or an alert.
        events.record('swarm', 'closed-before-hello', {
          ...fields,
          reason: this.closeReason ?? 'closed by peer',
        });
      }
      events.record('swarm', 'disconnect', {
        ...fields,
        by: this.closeReason?.startsWith('local:') ? 'local' : 'remote',
        reason: this.closeReason ?? 'closed by peer',
        established,
      });
      if (established) this.disconnectedAt = Date.now();
      this.hooks.onClosed(this, established);
    });
  }

  /** Called by the swarm's shared timer: heartbeats every 20 s, drop after 60 s of silence. */
  tick(now: number, heartbeatMs: number, silenceMs: number): void {
    if (this.state !== 'established') return;
    if (now - this.lastReceivedAt > silenceMs) {
      this.close(`silence: nothing received for ${Math.round((now - this.lastReceivedAt) / 1000)} s`);
      return;
    }
    if (now - this.lastSentAt >= heartbeatMs) this.send(heartbeatMessage);
  }

  close(reason: string): void {
    this.closeReason = `local: ${reason}`;
    this.socket?.destroy();
  }

  private handle(raw: Buffer): void {
    let message: JsonRpcMessage;
    try {
      message = JSON.parse(raw.toString('utf8')) as JsonRpcMessage;
    } catch {
      this.close('protocol error: a message that is not JSON');
      return;
    }
    // localPort joins once TCP is up: it names the connection in a capture (the flight recorder).
    const fields: { endpoint: string; master: string; localPort?: number } = {
      endpoint: this.endpoint,
      master: this.target.name,
    };
    switch (message.method) {
      case 'icinga::Hello':
        this.hooks.events.record('swarm', 'hello-received', { ...fields, params: message.params });
        break;
      case 'event::ExecuteCommand': {
        const params = (message.params ?? {}) as ExecuteCommandParams;
        if (params.command_type !== 'check_command') break;
        const outcome = this.hooks.answer(params);
        this.send(checkResultMessage(params, outcome, this.endpoint));
        this.hooks.events.record('swarm', 'check-executed', {
          ...fields,
          host: params.host,
          service: params.service,
          state: outcome.state,
        });
        break;
      }
      default:
        // config::Update, config::UpdateObject, log::SetLogPosition, heartbeats, ...: an agent may ignore them.
        break;
    }
  }

  private send(message: JsonRpcMessage): void {
    if (!this.socket || this.socket.destroyed) return;
    this.lastSentAt = Date.now();
    this.socket.write(encodeNetstring(JSON.stringify(message)));
  }

  private startSlowReader(): void {
    const slow = this.faults.slowReader;
    if (!slow || !this.socket) return;
    const socket = this.socket;
    const cycle = (reading: boolean) => {
      if (reading) socket.resume();
      else socket.pause();
      this.slowTimer = setTimeout(() => cycle(!reading), reading ? slow.readMs : slow.pauseMs);
    };
    cycle(true);
  }

  private stopSlowReader(): void {
    if (this.slowTimer) clearTimeout(this.slowTimer);
    this.slowTimer = undefined;
  }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
