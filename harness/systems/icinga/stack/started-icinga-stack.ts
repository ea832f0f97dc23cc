import { setTimeout as sleep } from 'node:timers/promises';
import type Docker from 'dockerode';
import { ErrorCodes, HuntError } from '../../../errors.ts';
import type { CertificateAuthority } from '../../../pki/certificate-authority.ts';
import type { ChaosProxy } from '../../../proxy/chaos-proxy.ts';
import type { History, HistoryEvent } from '../../../run/history.ts';
import { RunLayout } from '../../../run/layout.ts';
import type { Run } from '../../../run/run.ts';
import type { ConnectionSighting, StartedTarget } from '../../../seam/target.ts';
import { parseIcingaVersion, parseOpensslVersion } from '../images/catalogue.ts';
import type { Swarm } from '../swarm/swarm.ts';
import type { NodeSettings, Topology } from './icinga-config.ts';
import { connectionInLogMatch } from './icinga-log.ts';
import type { StartedIcingaNode } from './icinga-node.ts';

export interface ReadyOptions {
  timeoutMs?: number;
  /** Pause between two API checks (default 100 ms). */
  pollMs?: number;
  /** Stops the wait (rejects with its reason); default: the signal the stack was started with. */
  signal?: AbortSignal;
}

/** A running stack. Dispose it (`await using`) or call stop(); both remove every container. */
export class StartedIcingaStack implements StartedTarget {
  readonly system = 'icinga';
  readonly run: Run;
  readonly network: string;
  readonly topology: Topology;
  readonly ca: CertificateAuthority;
  readonly image: string;
  private readonly docker: Docker;
  private readonly setUpSignal: AbortSignal | undefined;
  private readonly settings: NodeSettings;
  private readonly nodeList: readonly StartedIcingaNode[];
  private stopped: StoppedIcingaStack | undefined;
  private readonly swarmInstance: Swarm | undefined;
  /** Simulated endpoints whose faults are meant to be refused (a padded chain, a wrong CA). */
  private readonly refusedByDesign: ReadonlySet<string>;
  private readonly proxies: ReadonlyMap<string, ChaosProxy>;

  /** Built whole by IcingaStack.start, from parts already started. */
  constructor(parts: {
    docker: Docker;
    run: Run;
    network: string;
    topology: Topology;
    ca: CertificateAuthority;
    settings: NodeSettings;
    image: string;
    /** Aborts the set-up (start, ready) when the run is interrupted. */
    signal?: AbortSignal;
    nodes: readonly StartedIcingaNode[];
    /** The chaos proxy in front of each proxied node, by the node's name. */
    proxies?: ReadonlyMap<string, ChaosProxy>;
    swarm?: { swarm: Swarm; refusedByDesign: ReadonlySet<string> };
  }) {
    this.setUpSignal = parts.signal;
    this.docker = parts.docker;
    this.run = parts.run;
    this.network = parts.network;
    this.topology = parts.topology;
    this.ca = parts.ca;
    this.settings = parts.settings;
    this.image = parts.image;
    this.nodeList = parts.nodes;
    this.proxies = parts.proxies ?? new Map();
    this.swarmInstance = parts.swarm?.swarm;
    this.refusedByDesign = parts.swarm?.refusedByDesign ?? new Set();
  }

  /** The run's event history (history.jsonl). */
  get history(): History {
    return this.run.history;
  }

  /**
   * What run.json and the report's environment block say about the nodes: `icinga2 --version`
   * as the first master prints it (every node runs the same image), the versions it names, and
   * the image id; plus the engine's version.
   */
  async describeNodes(docker: Docker): Promise<Record<string, unknown>> {
    const first = this.masters[0];
    const banner = first
      ? await first.container.exec(['icinga2', '--version']).then(
          (result) => result.output.trim(),
          () => '',
        )
      : '';
    const imageId = await docker
      .getImage(this.image)
      .inspect()
      .then(
        (info) => info.Id,
        () => undefined,
      );
    const engine = await docker.version().then(
      (info) => info.Version,
      () => undefined,
    );
    const version = parseIcingaVersion(banner);
    return {
      imageId,
      version,
      description: banner.trim(),
      icingaVersion: version,
      opensslVersion: parseOpensslVersion(banner),
      icingaVersionText: banner,
      dockerVersion: engine,
      nodes: this.nodeList.map((node) => ({ name: node.name, role: node.role, address: node.address })),
    };
  }

  /** The chaos proxy every connection to `node` goes through (see IcingaStack.proxied). */
  proxy(node: string): ChaosProxy {
    const proxy = this.proxies.get(node);
    if (!proxy)
      throw new HuntError(
        ErrorCodes.USAGE,
        `No proxy in front of ${node}: ${this.proxies.size > 0 ? `proxied nodes are ${[...this.proxies.keys()].join(', ')}` : 'start the stack with .proxied(name)'}.`,
      );
    return proxy;
  }

  /** Whether this stack runs simulated endpoints. */
  get hasSwarm(): boolean {
    return this.swarmInstance !== undefined;
  }

  /** The simulated endpoints (a stack started without them has none). */
  get swarm(): Swarm {
    if (!this.swarmInstance)
      throw new HuntError(
        ErrorCodes.USAGE,
        'This stack has no simulated endpoints: use withSimulatedEndpoints(n).',
      );
    return this.swarmInstance;
  }

  /** Every node that runs: the masters, then the agents, in the topology's order. */
  get nodes(): readonly StartedIcingaNode[] {
    const order = [...this.topology.masters, ...this.topology.agents];
    return [...this.nodeList].sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
  }

  /** The chaos proxy in front of a node (started with .proxied(name)), if any. */
  proxyFor(node: string): ChaosProxy | undefined {
    return this.proxies.get(node);
  }

  /** What observers and the flight recorder watch unless told otherwise: the masters. */
  get watched(): readonly StartedIcingaNode[] {
    return this.masters;
  }

  /** The simulated endpoints' sessions, for the status line (none without a swarm). */
  reconnectClients(node: string): number {
    return this.swarmInstance?.burst(node) ?? 0;
  }

  clients(): { connected: number; total: number; label: string } {
    const sessions = this.swarmInstance?.sessions ?? [];
    return {
      connected: sessions.filter((session) => session.state === 'established').length,
      total: sessions.length,
      label: 'endpoints',
    };
  }

  /**
   * The connection a swarm handshake failure or a master's TLS log line names: the swarm's by
   * its local port, the log's by the peer address and port in the line.
   */
  connectionIn(event: HistoryEvent): ConnectionSighting | undefined {
    if (event.source === 'swarm' && event.type === 'handshake-failed' && typeof event.localPort === 'number')
      return { node: String(event.master), port: event.localPort };
    return connectionInLogMatch(event);
  }

  get masters(): StartedIcingaNode[] {
    return this.topology.masters.map((name) => this.node(name));
  }

  get agents(): StartedIcingaNode[] {
    return this.topology.agents.map((name) => this.node(name));
  }

  /** master(1) is master1. */
  master(index: number): StartedIcingaNode {
    return this.node(`master${index}`);
  }

  node(name: string): StartedIcingaNode {
    const node = this.nodeList.find((candidate) => candidate.name === name);
    if (!node) throw new HuntError(ErrorCodes.USAGE, `This stack has no node "${name}".`);
    return node;
  }

  /** The stack's config settings (API user and ticket salt included: never print them). */
  get config(): Readonly<NodeSettings> {
    return this.settings;
  }

  /**
   * Resolves when every master sees every other endpoint of the stack connected (the other
   * master and every agent), by the REST API. The error names what is still missing.
   */
  async ready(options: ReadyOptions = {}): Promise<{ ms: number }> {
    const timeoutMs = options.timeoutMs ?? 120_000;
    const signal = options.signal ?? this.setUpSignal;
    const started = performance.now();
    const deadline = Date.now() + timeoutMs;
    let missing: string[];
    // At least one look, however little time is left (reconnected() may pass 1 ms): the error
    // then names what is missing instead of nothing.
    for (;;) {
      signal?.throwIfAborted();
      missing = await this.missingConnections();
      if (missing.length === 0) return { ms: Math.round(performance.now() - started) };
      if (Date.now() >= deadline) break;
      await sleep(options.pollMs ?? 100, undefined, { signal });
    }
    throw new HuntError(
      ErrorCodes.STACK_NOT_READY,
      `Stack not ready after ${Math.round(timeoutMs / 1000)} s: ${summarize(missing)}. Logs: ${this.run.path(RunLayout.logs)}`,
      { details: { missing } },
    );
  }

  /**
   * After reloads (each master with the performance.now() time of its signal): resolves when the
   * stack is ready again, like ready(). With a swarm, first waits for the simulated endpoints of
   * those masters to come back, event by event, so the API is asked once the wave is over
   * instead of every 100 ms during it (each check costs the busy master a request).
   */
  async reconnected(reloads: Array<{ master: string; since: number }>, options: ReadyOptions = {}) {
    const timeoutMs = options.timeoutMs ?? 120_000;
    const signal = options.signal ?? this.setUpSignal;
    const started = performance.now();
    if (this.swarmInstance && reloads.length > 0) {
      const swarm = this.swarmInstance;
      await Promise.all(
        reloads.map(({ master, since }) => {
          const sessions = swarm.sessions.filter(
            (s) => s.target.name === master && !this.refusedByDesign.has(s.endpoint),
          );
          return swarm.waitReconnected(sessions, since, timeoutMs, signal);
        }),
      );
    }
    const left = Math.max(1, timeoutMs - (performance.now() - started));
    await this.ready({ timeoutMs: left, pollMs: options.pollMs ?? 25, signal });
    return { ms: Math.round(performance.now() - started) };
  }

  /** "master1 does not see agent-2" lines for every connection still missing. */
  async missingConnections(): Promise<string[]> {
    // Polled every 25 ms while a reload settles: ask only for what is not connected (small
    // answers), and once nothing is, confirm with the full list (an endpoint a master does not
    // know at all is missing too, and a filtered answer cannot show it).
    const pending = await this.missingBy(true);
    return pending.length > 0 ? pending : this.missingBy(false);
  }

  private async missingBy(disconnectedOnly: boolean): Promise<string[]> {
    const missing: string[] = [];
    // Simulated endpoints count only when this stack's swarm connects them (not with connect:
    // false), and not those whose faults are meant to be refused (a padded chain, a wrong CA).
    const simulated = this.swarmInstance
      ? (this.topology.simulated ?? []).filter((name) => !this.refusedByDesign.has(name))
      : [];
    const all = [...this.topology.masters, ...this.topology.agents, ...simulated];
    for (const master of this.masters) {
      const seen = await master.api.endpointConnections({ disconnectedOnly }).catch((error: Error) => error);
      if (seen instanceof Error) {
        missing.push(`${master.name} API not answering (${seen.message.split('\n')[0]})`);
        continue;
      }
      for (const name of all) {
        const connected = seen.get(name) ?? disconnectedOnly;
        if (name !== master.name && !connected) missing.push(`${master.name} does not see ${name}`);
      }
    }
    return missing;
  }

  async stop(): Promise<StoppedIcingaStack> {
    if (this.stopped) return this.stopped;
    // Each step on its own: a swarm or proxy that fails to stop must not keep the nodes.
    await this.swarmInstance?.stop().catch(() => undefined);
    for (const proxy of this.proxies.values()) await proxy.close().catch(() => undefined);
    const removed: string[] = [];
    await Promise.all(
      this.nodeList.map(async (node) => {
        await node.stop();
        removed.push(node.name);
      }),
    );
    await this.docker
      .getNetwork(this.network)
      .remove()
      .catch(() => undefined);
    this.history.record('stack', 'stack-stopped', { nodes: removed });
    this.stopped = new StoppedIcingaStack(this.run, removed);
    return this.stopped;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/** What is left of a stack: its run folder (logs, run.json). */
export class StoppedIcingaStack {
  readonly run: Run;
  readonly removedNodes: string[];

  constructor(run: Run, removedNodes: string[]) {
    this.run = run;
    this.removedNodes = removedNodes;
  }
}

function summarize(missing: string[]): string {
  return missing.length <= 6
    ? missing.join('; ')
    : `${missing.slice(0, 6).join('; ')}; and ${missing.length - 6} more`;
}
