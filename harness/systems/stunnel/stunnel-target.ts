import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect } from 'node:tls';
import type Docker from 'dockerode';
import { ErrorCodes, HuntError } from '../../errors.ts';
import { resultsDir } from '../../paths.ts';
import { CertificateAuthority } from '../../pki/certificate-authority.ts';
import { KeyCache } from '../../pki/key-cache.ts';
import { type KeySpec, keySpecName, RSA_2048 } from '../../pki/key-spec.ts';
import { type Progress, silentProgress } from '../../progress.ts';
import type { ChaosProxy } from '../../proxy/chaos-proxy.ts';
import type { HistoryEvent } from '../../run/history.ts';
import type { Run } from '../../run/run.ts';
import { ContainerNode } from '../../seam/container-node.ts';
import { LogTail } from '../../seam/log-tail.ts';
import {
  CAPTURE_DIR,
  KEYS_DIR,
  type NodeContainerInput,
  startNodeContainer,
} from '../../seam/run-containers.ts';
import type { ConnectionSighting, StartedTarget, TargetBuilder, TargetNode } from '../../seam/target.ts';
import { TargetLaunch } from '../../seam/target-launch.ts';
import { LoadGenerator, type LoadOptions } from './load-generator.ts';
import {
  BACKEND_PORT,
  checkSettings,
  defaultStunnelSettings,
  type LogSink,
  OUTPUT_FIFO,
  parseOutputTimestamp,
  parseSinkTimestamps,
  renderCollectorConf,
  renderNginxConf,
  renderRsyslogConf,
  renderStunnelConf,
  STUNNEL_PORT,
  type StunnelSettings,
} from './stunnel-config.ts';
import { buildStunnelImage, stunnelEntry } from './stunnel-image.ts';

/** The nodes of a stunnel target. */
export const STUNNEL = 'stunnel';
export const BACKEND = 'backend';
/** With the rsyslog-forward sink: the TCP log collector. */
export const COLLECTOR = 'collector';

/**
 * stunnel in front of a web server, as the second field report has it: nginx (plain HTTP,
 * keep-alive) behind stunnel, stunnel logging through syslog to rsyslogd in its own container
 * (the log sink a scenario stalls), optionally the chaos proxy between stunnel and the backend.
 *
 *   await using target = await StunnelTarget.version('5.68').withDebug(7).start(run);
 */
export class StunnelTarget implements TargetBuilder<StartedStunnel> {
  private readonly version: string;
  private settings = defaultStunnelSettings({ host: BACKEND, port: BACKEND_PORT });
  private dgramQueue: number | undefined;
  private backlog: number | undefined;
  private fileLimit = 1024;
  private proxied = false;
  private tlsSecrets = true;
  private keylogMaxBytes: number | undefined;
  private keys: KeySpec = RSA_2048;

  private constructor(version: string) {
    stunnelEntry(version);
    this.version = version;
  }

  static version(version: string): StunnelTarget {
    return new StunnelTarget(version);
  }

  /** stunnel's `debug` (0-7; default 5, Debian's notice level): 7 logs every connection and accept. */
  withDebug(level: number): this {
    this.settings.debug = level;
    return this;
  }

  /** Where stunnel logs: syslog (/dev/log, the owned rsyslogd; default on) and/or `output =` a file. */
  withLogging(options: { syslog?: boolean; output?: boolean }): this {
    this.settings.syslog = options.syslog ?? this.settings.syslog;
    this.settings.output = options.output ?? this.settings.output;
    return this;
  }

  /**
   * Where the log lines go (see LogSink): `rsyslog` (default), `rsyslog-forward` (and on to a
   * collector container over TCP; `queue` is rsyslogd's main queue in messages, default 100,000),
   * or `fifo` (no syslog: `output =` a FIFO and its reader).
   */
  withLogSink(sink: LogSink, options: { queue?: number } = {}): this {
    this.settings.sink = sink;
    if (options.queue !== undefined) this.settings.sinkQueue = options.queue;
    if (sink === 'fifo') this.settings = { ...this.settings, syslog: false, output: true };
    return this;
  }

  /** `delay = yes`: stunnel resolves the backend's name per connection. */
  withDelay(enabled: boolean): this {
    this.settings.delay = enabled;
    return this;
  }

  /** stunnel's TIMEOUT* options, in seconds. */
  withTimeouts(timeouts: Partial<StunnelSettings['timeouts']>): this {
    this.settings.timeouts = { ...this.settings.timeouts, ...timeouts };
    return this;
  }

  /**
   * The /dev/log datagram queue of stunnel's network namespace (net.unix.max_dgram_qlen): 10 in
   * a fresh namespace (the default here), 512 where systemd sets it. The lower it is, the sooner
   * a stalled log sink blocks stunnel.
   */
  withDgramQueue(length: number): this {
    this.dgramQueue = length;
    return this;
  }

  /** net.core.somaxconn in stunnel's namespace: the most connections its listener queues. */
  withBacklog(length: number): this {
    this.backlog = length;
    return this;
  }

  /**
   * stunnel's open-file limit (default 1024, a service's usual soft limit; the engine's own is a
   * million): its client limit is max_fds * 125 / 256, so 500 connections at 1024.
   */
  withFileLimit(files: number): this {
    this.fileLimit = files;
    return this;
  }

  /** Puts the chaos proxy between stunnel and the backend (proxyFor('backend')). */
  withBackendProxy(): this {
    this.proxied = true;
    return this;
  }

  withKeys(spec: KeySpec): this {
    this.keys = spec;
    return this;
  }

  /** stunnel writes its TLS secrets (the key-log shim), so captures of the clients' side decrypt. */
  withTlsSecrets(enabled: boolean, options: { maxBytes?: number } = {}): this {
    this.tlsSecrets = enabled;
    this.keylogMaxBytes = options.maxBytes;
    return this;
  }

  async start(run: Run, progress: Progress = silentProgress, signal?: AbortSignal): Promise<StartedStunnel> {
    checkSettings(this.settings);
    for (const [name, value, max] of [
      ['dgram queue', this.dgramQueue, 100_000],
      ['backlog', this.backlog, 65_535],
      ['file limit', this.fileLimit, 1_048_576],
    ] as const)
      if (value !== undefined && !(Number.isInteger(value) && value >= 1 && value <= max))
        throw new HuntError(ErrorCodes.USAGE, `stunnel's ${name} is 1 to ${max}, not ${value}.`);
    await using launch = await TargetLaunch.open(run, progress, signal);
    const { docker } = launch;
    const image = (await buildStunnelImage(docker, stunnelEntry(this.version), progress, signal)).tag;
    signal?.throwIfAborted();
    const sysctls: Record<string, string> = {
      ...(this.dgramQueue !== undefined ? { 'net.unix.max_dgram_qlen': String(this.dgramQueue) } : {}),
      ...(this.backlog !== undefined ? { 'net.core.somaxconn': String(this.backlog) } : {}),
    };
    await run.describe('stack', {
      image,
      version: this.version,
      description: stunnelDescription(this.version, this.settings),
      settings: this.settings,
      sysctls,
      fileLimit: this.fileLimit,
      proxied: this.proxied,
      tlsSecrets: this.tlsSecrets,
      keys: keySpecName(this.keys),
    });
    progress.step(`issuing a certificate (${keySpecName(this.keys)}) for stunnel`);
    const ca = await CertificateAuthority.create({
      keySpec: this.keys,
      keyCache: new KeyCache(join(resultsDir(), '.cache', 'keys')),
    });
    const certificate = await ca.issue(STUNNEL, this.keys);
    signal?.throwIfAborted();
    const network = await launch.network();
    const container = (input: Omit<NodeContainerInput, 'docker' | 'run' | 'network' | 'image'>) =>
      startNodeContainer({ docker, run, network, image, ...input });
    const nodes: ContainerNode[] = [];
    const add = (node: ContainerNode) => nodes.push(launch.ownsNode(node));
    progress.step('starting the backend (nginx)');
    const backend = await container({
      name: BACKEND,
      role: 'backend',
      command: ['backend'],
      files: [{ target: '/etc/hh/nginx.conf', content: renderNginxConf(), mode: 0o644 }],
      logDir: '/var/log/hh',
      expectation: 'nginx did not start.',
    });
    add(
      new ContainerNode({
        name: BACKEND,
        role: 'backend',
        container: backend.container,
        address: backend.address,
        docker,
        log: new LogTail(backend.containerLog),
        capture: { filter: `tcp port ${BACKEND_PORT}`, nodeDir: CAPTURE_DIR, hostDir: backend.captureDir },
      }),
    );
    if (this.settings.sink === 'rsyslog-forward') {
      progress.step('starting the log collector (rsyslogd over TCP)');
      const collector = await container({
        name: COLLECTOR,
        role: 'collector',
        command: ['collector'],
        files: [{ target: '/etc/hh/collector.conf', content: renderCollectorConf(), mode: 0o644 }],
        logDir: '/var/log/hh',
        expectation: 'rsyslogd refused its configuration.',
      });
      add(
        new ContainerNode({
          name: COLLECTOR,
          role: 'collector',
          container: collector.container,
          address: collector.address,
          docker,
          log: new LogTail(join(collector.logDir, 'collected.log')),
        }),
      );
    }
    let settings = this.settings;
    const backendProxy = this.proxied
      ? await launch.proxy(BACKEND, { host: backend.address, port: BACKEND_PORT })
      : undefined;
    if (backendProxy) settings = { ...settings, connect: backendProxy.listen };
    signal?.throwIfAborted();
    progress.step(`starting stunnel ${this.version} (debug ${settings.debug})`);
    const files = [
      { target: '/etc/hh/stunnel.conf', content: renderStunnelConf(settings), mode: 0o644 },
      { target: '/etc/hh/stunnel.crt', content: certificate.certificatePem, mode: 0o644 },
      { target: '/etc/hh/stunnel.key', content: certificate.privateKeyPem, mode: 0o600 },
      ...(settings.syslog
        ? [{ target: '/etc/hh/rsyslog.conf', content: renderRsyslogConf(settings), mode: 0o644 }]
        : []),
      ...(settings.sink === 'fifo'
        ? [{ target: '/etc/hh/fifo', content: `${OUTPUT_FIFO}\n`, mode: 0o644 }]
        : []),
    ];
    const front = await container({
      name: STUNNEL,
      role: 'stunnel',
      command: ['stunnel'],
      files,
      logDir: '/var/log/hh',
      sysctls,
      fileLimit: this.fileLimit,
      environment: this.tlsSecrets
        ? {
            HH_TLS_KEYLOG: `${KEYS_DIR}/${STUNNEL}.keylog`,
            ...(this.keylogMaxBytes ? { HH_KEYLOG_MAX_BYTES: String(this.keylogMaxBytes) } : {}),
          }
        : {},
      expectation: 'stunnel refused its configuration.',
    });
    // The log the detectors read: the sink's file (syslog), else stunnel's own output file.
    const logFile = join(front.logDir, settings.syslog ? 'syslog.log' : 'stunnel.log');
    const parseTimestamp = settings.syslog
      ? (line: string) => parseSinkTimestamps(line)?.reported
      : parseOutputTimestamp;
    const frontNode = new ContainerNode({
      name: STUNNEL,
      role: 'stunnel',
      container: front.container,
      address: front.address,
      docker,
      log: new LogTail(logFile, { parseTimestamp }),
      capture: {
        filter: `tcp port ${STUNNEL_PORT} or tcp port ${BACKEND_PORT}`,
        nodeDir: CAPTURE_DIR,
        hostDir: front.captureDir,
      },
    });
    add(frontNode);
    await waitUntilServing(frontNode, ca.certificatePem, front.containerLog, signal);
    launch.recordAddresses(nodes);
    const started = new StartedStunnel({
      docker,
      run,
      network,
      caPem: ca.certificatePem,
      nodes,
      backendProxy,
    });
    launch.handOver();
    return started;
  }
}

/** A started stunnel target: its two nodes, the URL to load, the optional backend proxy. */
export class StartedStunnel implements StartedTarget {
  readonly system = 'stunnel';
  readonly run: Run;
  /** The run's network. */
  readonly network: string;
  /** The CA that signed stunnel's certificate (what clients trust). */
  readonly caPem: string;
  readonly backendProxy: ChaosProxy | undefined;
  private readonly docker: Docker;
  private readonly nodeList: readonly ContainerNode[];
  private readonly loads: LoadGenerator[] = [];
  private stopping: Promise<void> | undefined;

  /** Built whole by StunnelTarget.start, from parts already started. */
  constructor(parts: {
    docker: Docker;
    run: Run;
    network: string;
    caPem: string;
    nodes: readonly ContainerNode[];
    backendProxy?: ChaosProxy | undefined;
  }) {
    this.docker = parts.docker;
    this.run = parts.run;
    this.network = parts.network;
    this.caPem = parts.caPem;
    this.nodeList = parts.nodes;
    this.backendProxy = parts.backendProxy;
  }

  get nodes(): readonly TargetNode[] {
    return this.nodeList;
  }

  /** stunnel is watched (its log, its captures: both its sides); the backend is there to serve. */
  get watched(): readonly TargetNode[] {
    return this.nodeList.filter((node) => node.name === STUNNEL);
  }

  node(name: string): ContainerNode {
    const node = this.nodeList.find((candidate) => candidate.name === name);
    if (!node)
      throw new HuntError(
        ErrorCodes.USAGE,
        `No node ${name} in this stunnel target (nodes: ${this.nodeList.map((n) => n.name).join(', ')}).`,
      );
    return node;
  }

  /** Where clients connect: https://<stunnel's address>:443, with the servername "stunnel". */
  get url(): string {
    return `https://${this.node(STUNNEL).address}:${STUNNEL_PORT}`;
  }

  /**
   * Starts HTTP load through stunnel (see LoadGenerator): keep-alive and new-connection clients
   * at a set rate, aggregated per second into the history. Stopped with the target; one that
   * ended before is let go (a soak starts one per episode).
   */
  load(options: LoadOptions): LoadGenerator {
    const load = LoadGenerator.start(
      { node: STUNNEL, url: this.url, ca: this.caPem, servername: STUNNEL },
      options,
      this.run.history,
    );
    this.loads.push(load);
    void load.finished().then(() => {
      const at = this.loads.indexOf(load);
      if (at >= 0) this.loads.splice(at, 1);
    });
    return load;
  }

  clients(): { connected: number; total: number; label: string } {
    let connected = 0;
    let total = 0;
    for (const load of this.loads) {
      const now = load.connections();
      connected += now.open;
      total += now.limit;
    }
    return { connected, total, label: 'keep-alive' };
  }

  connectionIn(_event: HistoryEvent): ConnectionSighting | undefined {
    // Load events are per second, not per connection: an incident keeps the whole window.
    return undefined;
  }

  proxyFor(node: string): ChaosProxy | undefined {
    return node === BACKEND ? this.backendProxy : undefined;
  }

  async stop(): Promise<void> {
    this.stopping ??= (async () => {
      // Each step on its own: a load or proxy that fails to stop must not keep the containers.
      // A copy: each load leaves the list as it stops.
      for (const load of [...this.loads]) await load.stop().catch(() => undefined);
      await this.backendProxy?.close().catch(() => undefined);
      await Promise.all(this.nodeList.map((node) => node.stop().catch(() => undefined)));
      await this.docker
        .getNetwork(this.network)
        .remove()
        .catch(() => undefined);
      this.run.history.record('stack', 'stack-stopped', { nodes: this.nodeList.map((node) => node.name) });
    })();
    return this.stopping;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/** What a report says ran, in a line: stunnel, its debug level, and what sits around it. */
export function stunnelDescription(version: string, settings: { debug?: unknown }): string {
  return `stunnel ${version} (Debian's stunnel4, debug ${String(settings.debug ?? '?')}), nginx behind it, rsyslog as its log sink`;
}

/** Until a TLS handshake with stunnel succeeds (30 s), or stunnel exits. */
export async function waitUntilServing(
  front: ContainerNode,
  caPem: string,
  containerLog: string,
  signal?: AbortSignal,
): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    signal?.throwIfAborted();
    if (await handshake(front.address, caPem)) return;
    if (!(await front.isRunning()))
      throw new HuntError(
        ErrorCodes.CONFIG_INVALID,
        `stunnel exited at start: see ${containerLog} and ${front.log.path}.`,
      );
    await sleep(200, undefined, { signal });
  }
  throw new HuntError(
    ErrorCodes.STACK_NOT_READY,
    `stunnel did not serve TLS within 30 s (see ${containerLog}).`,
  );
}

function handshake(host: string, caPem: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port: STUNNEL_PORT, ca: caPem, servername: STUNNEL, timeout: 2_000 });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('secureConnect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}
