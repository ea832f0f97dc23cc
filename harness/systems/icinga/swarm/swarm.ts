import { createSecureContext, type SecureContext } from 'node:tls';
import { ErrorCodes, HuntError } from '../../../errors.ts';
import { CertificateAuthority } from '../../../pki/certificate-authority.ts';
import { KeyCache } from '../../../pki/key-cache.ts';
import { EC_P256, type KeySpec, RSA_2048 } from '../../../pki/key-spec.ts';
import { derivedRandom, type Random } from '../../../random.ts';
import { discardEvents, type EventSink } from '../../../run/history.ts';
import type { KeylogFile } from '../../../run/keylog-file.ts';
import { type CheckPolicy, checkAnswerer, defaultCheckPolicy } from './check-policy.ts';
import { EndpointSession, type SessionFaults, type SwarmTarget } from './endpoint-session.ts';

export type { SwarmTarget } from './endpoint-session.ts';

/** Fault knobs of one simulated endpoint. */
export interface EndpointFaults extends SessionFaults {
  /**
   * Send K extra certificates after the leaf: about 1,080 bytes each, so K = 160 makes a
   * Certificate message of ~173 KB (as captured), past OpenSSL's default max_cert_list of 100 KiB.
   */
  chainPadding?: number;
  /** A key type/size other than the swarm's. */
  keySpec?: KeySpec;
  /** A certificate from a CA the masters do not trust. */
  wrongCa?: boolean;
}

/** An endpoint's key and certificate chain, PEM (issued elsewhere, e.g. in another process). */
export interface EndpointIdentity {
  privateKeyPem: string;
  certificateChainPem: string;
}

export interface SwarmOptions {
  endpoints: string[];
  targets: SwarmTarget[];
  /** Issues each endpoint's certificate; or give `identities` and `caPem` instead. */
  ca?: CertificateAuthority;
  identities?: Map<string, EndpointIdentity>;
  /** The CA the masters' certificates are checked against (default: ca's). */
  caPem?: string;
  /** Default EC P-256: cheap to generate for thousands of endpoints. */
  keySpec?: KeySpec;
  checks?: CheckPolicy;
  faults?: Record<string, EndpointFaults>;
  /** Reconnect jitter derives from it: a stack passes its run's (run.seedFor('swarm')). */
  seed: number;
  keylog?: KeylogFile;
  events?: EventSink;
  /** Connections in TCP/TLS set-up at once: a reload must not become a stampede. */
  maxConcurrentConnects?: number;
  reconnect?: { baseMs?: number; maxMs?: number };
  heartbeatMs?: number;
  silenceMs?: number;
}

export interface SwarmCounters {
  established: number;
  handshakesDone: number;
  /** TLS errors during the handshake (OpenSSL's text is in the history). */
  handshakesFailed: number;
  /** Handshake finished on our side, then the master closed before saying anything. */
  closedBeforeHello: number;
  /** TCP connection refused or unreachable (a master between workers). */
  connectsFailed: number;
  disconnects: number;
  checksExecuted: number;
}

/** Counters at zero: a new swarm's. */
export function zeroCounters(): SwarmCounters {
  return {
    established: 0,
    handshakesDone: 0,
    handshakesFailed: 0,
    closedBeforeHello: 0,
    connectsFailed: 0,
    disconnects: 0,
    checksExecuted: 0,
  };
}

export interface ReconnectSample {
  endpoint: string;
  master: string;
  /** From the end of the previous established connection to the next established one. */
  ms: number;
  at: number;
}

/**
 * Reconnect samples kept: a few waves of every session reconnecting (a reload drops all of a
 * master's sessions), at least MIN_RECONNECT_SAMPLES. Sized by sessions, not a fixed count,
 * because a fixed 100,000 took a 200-session soak over an hour to fill: its memory grew that
 * long for samples nobody reads (readers ask for the last wave).
 */
const RECONNECT_WAVES_KEPT = 4;
const MIN_RECONNECT_SAMPLES = 1_000;

interface ReconnectWaiter {
  pending: Set<EndpointSession>;
  since: number;
  done(ok: boolean): void;
}

/** Many simulated endpoints in one process, each connected to every master. */
export class Swarm {
  readonly sessions: EndpointSession[] = [];
  private events: SwarmEvents | undefined;
  readonly counters: SwarmCounters = zeroCounters();
  private readonly samples: ReconnectSample[] = [];
  private readonly queue: EndpointSession[] = [];
  private readonly queued = new Set<EndpointSession>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private inFlight = 0;
  private readonly reconnectWaiters = new Set<ReconnectWaiter>();
  /** Sessions a burst closed: they dial again the moment they are closed, past the queue. */
  private readonly bursting = new Set<EndpointSession>();
  private stopping = false;
  private readonly tickTimer: NodeJS.Timeout;
  private readonly random: Random;
  private readonly options: Required<
    Pick<SwarmOptions, 'maxConcurrentConnects' | 'heartbeatMs' | 'silenceMs'>
  > & {
    baseMs: number;
    maxMs: number;
  };

  private constructor(options: SwarmOptions) {
    this.random = derivedRandom(options.seed, 'swarm-reconnect');
    this.options = {
      maxConcurrentConnects: options.maxConcurrentConnects ?? 64,
      heartbeatMs: options.heartbeatMs ?? 20_000,
      silenceMs: options.silenceMs ?? 60_000,
      baseMs: options.reconnect?.baseMs ?? 100,
      maxMs: options.reconnect?.maxMs ?? 10_000,
    };
    // One timer for every session's heartbeat and silence check, not thousands.
    this.tickTimer = setInterval(() => {
      const now = Date.now();
      for (const session of this.sessions)
        session.tick(now, this.options.heartbeatMs, this.options.silenceMs);
    }, 1000);
    this.tickTimer.unref();
  }

  /** Issues every endpoint's certificate and connects every endpoint to every target. */
  static async start(options: SwarmOptions): Promise<Swarm> {
    const swarm = new Swarm(options);
    const events = new SwarmEvents(options.events ?? discardEvents, swarm.counters);
    swarm.events = events;
    const contexts = await buildContexts(options);
    for (const endpoint of options.endpoints) {
      const answer = checkAnswerer(options.checks ?? defaultCheckPolicy, endpoint);
      for (const target of options.targets) {
        const session = new EndpointSession(
          endpoint,
          target,
          contexts.get(endpoint) as SecureContext,
          {
            events,
            keylog: options.keylog?.write,
            answer,
            onEstablished: (s) => swarm.established(s),
            onClosed: (s, wasEstablished) => swarm.closed(s, wasEstablished),
          },
          options.faults?.[endpoint] ?? {},
        );
        swarm.sessions.push(session);
        swarm.enqueue(session);
      }
    }
    return swarm;
  }

  /** Sessions established now, per target name. */
  establishedBy(master: string): number {
    return this.sessions.filter((s) => s.target.name === master && s.state === 'established').length;
  }

  /** Resolves true when every session is established (false at the deadline). */
  async waitAllEstablished(timeoutMs: number, sessions = this.sessions): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (sessions.every((s) => s.state === 'established')) return true;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return false;
  }

  /**
   * Resolves true once every given session has been established at or after `since`
   * (performance.now() time: a reload's signal), false at the deadline. Event-driven: the wave
   * of reconnects after a reload is watched as it happens, not polled.
   */
  waitReconnected(
    sessions: EndpointSession[],
    since: number,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<boolean> {
    const pending = new Set(
      sessions.filter((s) => !(s.state === 'established' && (s.establishedAt ?? -1) >= since)),
    );
    if (pending.size === 0) return Promise.resolve(true);
    if (signal?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const onAbort = () => waiter.done(false);
      const waiter: ReconnectWaiter = {
        pending,
        since,
        done: (ok) => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          this.reconnectWaiters.delete(waiter);
          resolve(ok);
        },
      };
      const timer = setTimeout(() => waiter.done(false), timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.reconnectWaiters.add(waiter);
    });
  }

  /** Reconnect times recorded after `since` (ms since the epoch; the last few waves are kept). */
  reconnects(since = 0): ReconnectSample[] {
    return this.samples.filter((sample) => sample.at >= since);
  }

  sessionsOf(endpoint: string): EndpointSession[] {
    return this.sessions.filter((s) => s.endpoint === endpoint);
  }

  /**
   * A reconnect burst: every established session to `master` is cut and dials again at once, all
   * together, past the queue and its concurrency cap (what a network blip does to a real fleet).
   * Returns how many sessions it cut.
   */
  burst(master: string): number {
    const cut = this.sessions.filter((s) => s.target.name === master && s.state === 'established');
    for (const session of cut) {
      this.bursting.add(session);
      session.close('reconnect burst');
    }
    return cut.length;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.tickTimer);
    for (const waiter of this.reconnectWaiters) waiter.done(false);
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.queue.length = 0;
    for (const session of this.sessions) session.close('swarm stopping');
    // After the closes: their disconnects are in the last activity event.
    this.events?.stop();
  }

  private enqueue(session: EndpointSession): void {
    if (this.stopping || this.queued.has(session)) return;
    this.queued.add(session);
    this.queue.push(session);
    this.pump();
  }

  private pump(): void {
    while (this.inFlight < this.options.maxConcurrentConnects && this.queue.length > 0) {
      const session = this.queue.shift() as EndpointSession;
      this.queued.delete(session);
      this.inFlight++;
      session.connect();
    }
  }

  private established(session: EndpointSession): void {
    this.inFlight--;
    this.counters.established++;
    if (session.disconnectedAt !== undefined) {
      const now = Date.now();
      this.samples.push({
        endpoint: session.endpoint,
        master: session.target.name,
        ms: now - session.disconnectedAt,
        at: now,
      });
      const kept = Math.max(MIN_RECONNECT_SAMPLES, RECONNECT_WAVES_KEPT * this.sessions.length);
      if (this.samples.length > kept * 1.25) this.samples.splice(0, this.samples.length - kept);
      session.disconnectedAt = undefined;
    }
    for (const waiter of this.reconnectWaiters) {
      if ((session.establishedAt ?? -1) >= waiter.since) waiter.pending.delete(session);
      if (waiter.pending.size === 0) waiter.done(true);
    }
    this.pump();
  }

  private closed(session: EndpointSession, wasEstablished: boolean): void {
    if (wasEstablished) this.counters.established--;
    else this.inFlight--;
    this.pump();
    if (this.stopping) return;
    if (this.bursting.delete(session)) {
      this.inFlight++;
      session.connect();
      return;
    }
    // After a good connection: retry soon, spread over baseMs. After failures: exponential,
    // bounded by maxMs, with seeded jitter so runs repeat.
    // A refused connect is cheap and means the master is between workers (a reload takes
    // ~0.7 s): retry on the base interval for the first 50 refusals, then back off as usual.
    const refusedOnly = !wasEstablished && session.refusals === session.failures && session.refusals <= 50;
    const ceiling =
      wasEstablished || refusedOnly
        ? this.options.baseMs
        : Math.min(this.options.maxMs, this.options.baseMs * 2 ** Math.min(session.failures, 16));
    const delay =
      wasEstablished || refusedOnly ? this.random() * ceiling : ceiling * (0.5 + 0.5 * this.random());
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.enqueue(session);
    }, delay);
    this.timers.add(timer);
  }
}

/**
 * The sessions' routine events: hundreds per reload (every endpoint's connect, handshake, hello,
 * disconnect, check). The first ROUTINE_DETAILED are recorded one by one (the first connects of
 * a run, with their timings); after that they are counted and recorded as one `activity` event
 * per second, so the history stays small over a soak. What detectors read (handshake failures,
 * closes before the hello) is always recorded one by one.
 */
const ROUTINE_TYPES = new Set([
  'connect-attempt',
  'tcp-connected',
  'handshake-done',
  'hello-received',
  'disconnect',
  'connect-failed',
  'check-executed',
]);
/** The same, as the history's routine events ("source:type"), which get a smaller budget too. */
export const SWARM_ROUTINE_EVENTS: readonly string[] = [...ROUTINE_TYPES].map((type) => `swarm:${type}`);
const ROUTINE_DETAILED = 2_000;
const ACTIVITY_EVERY_MS = 1_000;

export class SwarmEvents implements EventSink {
  private detailed = 0;
  private pending = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;
  private readonly inner: EventSink;
  private readonly counters: SwarmCounters;

  constructor(inner: EventSink, counters: SwarmCounters) {
    this.inner = inner;
    this.counters = counters;
    this.timer = setInterval(() => this.flush(), ACTIVITY_EVERY_MS);
    this.timer.unref();
  }

  record(source: string, type: string, fields?: Record<string, unknown>): void {
    const counters = this.counters;
    if (type === 'handshake-done') counters.handshakesDone++;
    else if (type === 'handshake-failed') counters.handshakesFailed++;
    else if (type === 'closed-before-hello') counters.closedBeforeHello++;
    else if (type === 'connect-failed') counters.connectsFailed++;
    else if (type === 'disconnect') counters.disconnects++;
    else if (type === 'check-executed') counters.checksExecuted++;
    if (!ROUTINE_TYPES.has(type) || this.detailed < ROUTINE_DETAILED) {
      if (ROUTINE_TYPES.has(type)) this.detailed++;
      this.inner.record(source, type, fields);
      return;
    }
    this.pending.set(type, (this.pending.get(type) ?? 0) + 1);
  }

  /** Records what was counted since the last flush, if anything. */
  flush(): void {
    if (this.pending.size === 0) return;
    const counts = Object.fromEntries(this.pending);
    this.pending = new Map();
    this.inner.record('swarm', 'activity', { counts, everyMs: ACTIVITY_EVERY_MS });
  }

  stop(): void {
    clearInterval(this.timer);
    this.flush();
  }
}

async function buildContexts(options: SwarmOptions): Promise<Map<string, SecureContext>> {
  const caPem = options.caPem ?? options.ca?.certificatePem;
  if (!caPem)
    throw new HuntError(ErrorCodes.USAGE, 'A swarm needs the stack CA (ca or caPem) to verify the masters.');
  const contexts = new Map<string, SecureContext>();
  const identities = options.identities ?? (await issueIdentities(options));
  for (const endpoint of options.endpoints) {
    const identity = identities.get(endpoint);
    if (!identity)
      throw new HuntError(ErrorCodes.USAGE, `No key and certificate for simulated endpoint ${endpoint}.`);
    contexts.set(
      endpoint,
      createSecureContext({ key: identity.privateKeyPem, cert: identity.certificateChainPem, ca: caPem }),
    );
  }
  return contexts;
}

/** Keys and certificates for every endpoint, with the fault knobs applied (padding, wrong CA, key size). */
export async function issueIdentities(
  options: Pick<SwarmOptions, 'endpoints' | 'ca' | 'keySpec' | 'faults'>,
): Promise<Map<string, EndpointIdentity>> {
  const ca = options.ca;
  if (!ca)
    throw new HuntError(ErrorCodes.USAGE, 'Issuing simulated endpoint certificates needs the stack CA.');
  const identities = new Map<string, EndpointIdentity>();
  let wrongCa: CertificateAuthority | undefined;
  const maxPadding = Math.max(0, ...Object.values(options.faults ?? {}).map((f) => f.chainPadding ?? 0));
  const padding = maxPadding > 0 ? await paddingCertificates(ca, maxPadding) : [];
  for (const endpoint of options.endpoints) {
    const faults = options.faults?.[endpoint] ?? {};
    const keySpec = faults.keySpec ?? options.keySpec ?? EC_P256;
    let issuer = ca;
    if (faults.wrongCa) {
      wrongCa ??= await CertificateAuthority.create({ keySpec: EC_P256, commonName: 'Not the stack CA' });
      issuer = wrongCa;
    }
    const leaf = await issuer.issue(endpoint, keySpec);
    const chain = [leaf.certificatePem, ...padding.slice(0, faults.chainPadding ?? 0)]
      .map((pem) => `${pem.trim()}\n`)
      .join('');
    identities.set(endpoint, { privateKeyPem: leaf.privateKeyPem, certificateChainPem: chain });
  }
  return identities;
}

/** Distinct certificates to pad a chain with (RSA 2048 keys: ~780 bytes each in DER). */
async function paddingCertificates(ca: CertificateAuthority, count: number): Promise<string[]> {
  const { keys } = await new KeyCache().fresh(RSA_2048);
  const pems: string[] = [];
  for (let i = 0; i < count; i++)
    pems.push((await ca.sign(`padding-${i}`, keys.publicKey, RSA_2048)).toString('pem'));
  return pems;
}

/** How a stack runs its simulated endpoints (IcingaStack.withSimulatedEndpoints). */
export interface SimulatedEndpointOptions {
  /** Key of each simulated endpoint (default EC P-256: cheap for thousands). */
  keySpec?: KeySpec;
  checks?: CheckPolicy;
  /** Per endpoint name (sim-1, sim-2, ...): chain padding, wrong CA, slow reader, key size. */
  faults?: Record<string, EndpointFaults>;
  maxConcurrentConnects?: number;
  /** false: render them on the masters but do not connect (a benchmark connects them itself). */
  connect?: boolean;
}
