import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type Docker from 'dockerode';
import { GenericContainer } from 'testcontainers';
import { IcingaApiClient } from '../api/icinga-api.ts';
import { KeylogFile } from '../capture/keylog-file.ts';
import { ensureEngine } from '../engine/docker-engine.ts';
import { harnessLabels, Labels } from '../engine/labels.ts';
import { ErrorCodes, HuntError } from '../errors.ts';
import { History } from '../history/history.ts';
import { createRunFolder, type RunFolder, writeRunMetadata } from '../history/run-folder.ts';
import { catalogueEntry } from '../images/catalogue.ts';
import { buildIcingaImage, resolveUserImage } from '../images/icinga-image.ts';
import { resultsDir } from '../paths.ts';
import { CertificateAuthority, type IssuedCertificate } from '../pki/certificate-authority.ts';
import { KeyCache } from '../pki/key-cache.ts';
import { type KeySpec, keySpecName, RSA_4096 } from '../pki/key-spec.ts';
import { type Progress, silentProgress } from '../progress.ts';
import type { CheckPolicy } from '../swarm/check-policy.ts';
import { icingaVersionNumber } from '../swarm/messages.ts';
import { type EndpointFaults, Swarm } from '../swarm/swarm.ts';
import {
  type AgentConnection,
  API_PORT,
  type ConfigFiles,
  type LogSeverity,
  type NodeSettings,
  renderAgentConfig,
  renderMasterConfig,
  type Topology,
  validateTopology,
} from './icinga-config.ts';
import { type NodeRole, StartedIcingaNode } from './icinga-node.ts';
import { LogTail } from './log-tail.ts';

const API_USER = 'hunt';

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

// Ryuk (testcontainers' reaper) is an image that cannot be pulled offline; the harness cleans
// up by its own labels instead (`hunt clean`). Read by testcontainers when a container starts.
process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';

/**
 * A containerized Icinga 2 stack: 1 or 2 masters in an HA zone, real agents each in a zone of
 * their own. The builder only records intent; `start()` does the work and returns a
 * StartedIcingaStack, which is AsyncDisposable:
 *
 *   await using stack = await IcingaStack.version('2.13.6').masters(2).agents(2).start();
 *   await stack.ready();
 */
export class IcingaStack {
  private readonly source: { version: string } | { image: string };
  private masterCount = 2;
  private agentCount = 0;
  private connection: AgentConnection = 'masters-dial';
  private leafKeys: KeySpec = RSA_4096;
  private caKeys: KeySpec = RSA_4096;
  private severity: LogSeverity = 'information';
  private interval = 10;
  private readonly snippets: Record<string, string> = {};
  private runName = 'stack';
  private simulatedCount = 0;
  private simulatedOptions: SimulatedEndpointOptions = {};
  private seed = Math.floor(Math.random() * 2 ** 31);
  private keyCacheDir: string | undefined = join(resultsDir(), '.cache', 'keys');
  private run: RunFolder | undefined;

  private constructor(source: { version: string } | { image: string }) {
    this.source = source;
  }

  /** A catalogue version (built offline if needed). */
  static version(version: string): IcingaStack {
    return new IcingaStack({ version });
  }

  /** Any image with Icinga 2 in it; its version is read from the binary. */
  static image(reference: string): IcingaStack {
    return new IcingaStack({ image: reference });
  }

  masters(count: number): this {
    this.masterCount = count;
    return this;
  }

  agents(count: number): this {
    this.agentCount = count;
    return this;
  }

  /**
   * N endpoints simulated in this process (sim-1 ... sim-N): Endpoint, Zone, Host and the
   * "load" service rendered on the masters; each connects to every master when the stack starts.
   */
  withSimulatedEndpoints(count: number, options: SimulatedEndpointOptions = {}): this {
    this.simulatedCount = count;
    this.simulatedOptions = options;
    return this;
  }

  /** The seed every random choice of this stack derives from (default: random, recorded in run.json). */
  withSeed(seed: number): this {
    this.seed = seed;
    return this;
  }

  /** Who dials whom between masters and agents (default: masters dial agents). */
  agentConnection(mode: AgentConnection): this {
    this.connection = mode;
    return this;
  }

  /** Key type and size of every node's certificate (default RSA 4096, as `icinga2 pki`). */
  withKeys(spec: KeySpec, caSpec: KeySpec = spec): this {
    this.leafKeys = spec;
    this.caKeys = caSpec;
    return this;
  }

  /** An extra config file on every master (objects, settings); validated at start. */
  withConfig(name: string, content: string): this {
    this.snippets[name] = content;
    return this;
  }

  withLogLevel(severity: LogSeverity): this {
    this.severity = severity;
    return this;
  }

  /** Seconds between checks of the agents' services (default 10). */
  withCheckInterval(seconds: number): this {
    this.interval = seconds;
    return this;
  }

  /** Where leaf keys are cached between runs (default results/.cache/keys; null: never cache). */
  withKeyCache(directory: string | null): this {
    this.keyCacheDir = directory ?? undefined;
    return this;
  }

  /** Put logs and metadata into this run's folder (default: a new results/<id>/). */
  inRun(run: RunFolder): this {
    this.run = run;
    return this;
  }

  named(name: string): this {
    this.runName = name;
    return this;
  }

  async start(progress: Progress = silentProgress): Promise<StartedIcingaStack> {
    const topologyBase = {
      masters: Array.from({ length: this.masterCount }, (_, i) => `master${i + 1}`),
      agents: Array.from({ length: this.agentCount }, (_, i) => `agent-${i + 1}`),
      simulated: Array.from({ length: this.simulatedCount }, (_, i) => `sim-${i + 1}`),
      agentConnection: this.connection,
    };
    // Every endpoint is reached by its network alias; a proxy may later take a name over.
    const hostOf = Object.fromEntries(
      [...topologyBase.masters, ...topologyBase.agents].map((name) => [name, { host: name, port: API_PORT }]),
    );
    const topology: Topology = { ...topologyBase, hostOf };
    validateTopology(topology);
    if (!Number.isInteger(this.agentCount) || this.agentCount < 0 || this.agentCount > 200) {
      throw new HuntError(
        ErrorCodes.USAGE,
        `Real agents: 0 to 200 containers, not ${this.agentCount}. Use simulated endpoints for more.`,
      );
    }

    const { docker } = await ensureEngine(progress);
    const image =
      'version' in this.source
        ? (await buildIcingaImage(docker, catalogueEntry(this.source.version), progress)).tag
        : (await resolveUserImage(docker, this.source.image, progress)).reference;
    const run = this.run ?? (await createRunFolder(this.runName));
    const settings: NodeSettings = {
      ticketSalt: randomBytes(16).toString('hex'),
      logSeverity: this.severity,
      checkInterval: this.interval,
      apiUser: { name: API_USER, password: randomBytes(18).toString('base64url') },
      snippets: this.snippets,
    };
    await writeRunMetadata(run, {
      kind: 'stack',
      image,
      source: this.source,
      masters: topology.masters,
      agents: topology.agents.length,
      simulatedEndpoints: this.simulatedCount,
      seed: this.seed,
      agentConnection: topology.agentConnection,
      keys: { leaf: keySpecName(this.leafKeys), ca: keySpecName(this.caKeys) },
      logSeverity: this.severity,
      checkInterval: this.interval,
      snippets: Object.keys(this.snippets),
      startedAt: new Date().toISOString(),
    });

    progress.step(
      `issuing certificates (${keySpecName(this.leafKeys)}) for ${topology.masters.length + topology.agents.length} nodes`,
    );
    const ca = await CertificateAuthority.create({
      keySpec: this.caKeys,
      keyCache: new KeyCache(this.keyCacheDir),
    });
    const certificates = new Map<string, IssuedCertificate>();
    for (const name of [...topology.masters, ...topology.agents])
      certificates.set(name, await ca.issue(name, this.leafKeys));

    const network = `hh-${run.id}`;
    await docker.createNetwork({
      Name: network,
      Labels: harnessLabels({ [Labels.RUN]: run.id }),
      CheckDuplicate: true,
    });
    const history = await History.open(join(run.dir, 'history.jsonl'));
    const started = new StartedIcingaStack({ docker, run, network, topology, ca, settings, image, history });
    try {
      // Whoever is dialled starts first, so the first connection attempt succeeds instead of
      // waiting for Icinga's reconnect timer: master2 before master1 (master1 dials master2),
      // and agents before masters when masters dial them.
      const startMasters = async () => {
        for (const name of [...topology.masters].reverse()) {
          progress.step(`starting ${name}`);
          const files = renderMasterConfig(topology, name, settings);
          await started.addNode(
            await startNode({
              docker,
              run,
              network,
              image,
              name,
              role: 'master',
              files,
              certificates,
              ca,
              settings,
            }),
          );
        }
      };
      const startAgents = async () => {
        if (topology.agents.length > 0) progress.step(`starting ${topology.agents.length} agents`);
        await inBatches(topology.agents, 4, async (name) => {
          const files = renderAgentConfig(topology, name, settings);
          await started.addNode(
            await startNode({
              docker,
              run,
              network,
              image,
              name,
              role: 'agent',
              files,
              certificates,
              ca,
              settings,
            }),
          );
        });
      };
      if (topology.agentConnection === 'masters-dial') {
        await startAgents();
        await startMasters();
      } else {
        await startMasters();
        await startAgents();
      }
      if (this.simulatedCount > 0 && this.simulatedOptions.connect !== false) {
        progress.step(
          `connecting ${this.simulatedCount} simulated endpoints to ${topology.masters.length} masters`,
        );
        await started.startSwarm(this.simulatedOptions, this.seed);
      }
    } catch (error) {
      await started.stop();
      throw error;
    }
    return started;
  }
}

interface StartNodeInput {
  docker: Docker;
  run: RunFolder;
  network: string;
  image: string;
  name: string;
  role: NodeRole;
  files: ConfigFiles;
  certificates: Map<string, IssuedCertificate>;
  ca: CertificateAuthority;
  settings: NodeSettings;
}

async function startNode(input: StartNodeInput): Promise<StartedIcingaNode> {
  const { docker, run, network, name, role } = input;
  const certificate = input.certificates.get(name);
  if (!certificate) throw new Error(`no certificate issued for ${name}`);
  const logDir = join(run.dir, 'logs', name);
  await mkdir(logDir, { recursive: true });
  const containerLog = join(logDir, 'container.log');
  const contents = [
    ...Object.entries(input.files).map(([path, content]) => ({
      content,
      target: `/etc/icinga2/${path}`,
      mode: 0o644,
    })),
    { content: certificate.certificatePem, target: `/var/lib/icinga2/certs/${name}.crt`, mode: 0o644 },
    { content: certificate.privateKeyPem, target: `/var/lib/icinga2/certs/${name}.key`, mode: 0o600 },
    { content: input.ca.certificatePem, target: '/var/lib/icinga2/certs/ca.crt', mode: 0o644 },
  ];
  const container = await new GenericContainer(input.image)
    .withName(`hh-${run.id}-${name}`)
    .withHostname(name)
    .withNetworkMode(network)
    .withNetworkAliases(name)
    .withLabels(harnessLabels({ [Labels.RUN]: run.id, [Labels.ROLE]: role }))
    .withCopyContentToContainer(contents)
    // icinga2.log lands in the run folder directly: evidence survives the container.
    .withBindMounts([{ source: logDir, target: '/var/log/icinga2', mode: 'rw' }])
    .withLogConsumer((stream) => stream.pipe(createWriteStream(containerLog, { flags: 'a' })))
    .withStartupTimeout(60_000)
    .start();
  const address = container.getIpAddress(network);
  const log = new LogTail(join(logDir, 'icinga2.log'));
  const output = new LogTail(containerLog);
  const api =
    role === 'master' && input.settings.apiUser
      ? new IcingaApiClient({
          url: `https://${address}:${API_PORT}`,
          servername: name,
          ca: input.ca.certificatePem,
          user: input.settings.apiUser.name,
          password: input.settings.apiUser.password,
          timeoutMs: 5_000,
        })
      : undefined;
  const node = new StartedIcingaNode({ name, role, container, address, log, output, api, docker });
  try {
    await waitUntilServing(node, containerLog);
  } catch (error) {
    await node.stop();
    throw error;
  }
  return node;
}

/** Masters: until the API answers. Agents: until the log says the listener is up. */
async function waitUntilServing(node: StartedIcingaNode, containerLog: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (node.role === 'master') {
      if (
        await node.api.icingaApplication().then(
          () => true,
          () => false,
        )
      )
        return;
    } else if (
      node.log.since(0).some((line) => /Started new listener|Reconnecting to endpoint/.test(line.text))
    ) {
      return;
    }
    if (!(await node.isRunning())) {
      const output = await readFile(containerLog, 'utf8').catch(() => '');
      const reasons = output
        .split('\n')
        .filter((line) => /critical|error|\^/i.test(line))
        .slice(0, 20);
      throw new HuntError(
        ErrorCodes.CONFIG_INVALID,
        `${node.name} exited at start: Icinga refused its configuration.\n${reasons.map((line) => `  ${line}`).join('\n')}\n` +
          `Full output: ${containerLog}`,
        { details: { node: node.name, reasons } },
      );
    }
    await sleep(100);
  }
  throw new HuntError(
    ErrorCodes.STACK_NOT_READY,
    `${node.name} did not start serving within 60 s (see ${containerLog}).`,
  );
}

async function inBatches<T>(items: T[], size: number, work: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(work));
}

export interface ReadyOptions {
  timeoutMs?: number;
}

/** A running stack. Dispose it (`await using`) or call stop(); both remove every container. */
export class StartedIcingaStack implements AsyncDisposable {
  readonly run: RunFolder;
  readonly network: string;
  readonly topology: Topology;
  readonly ca: CertificateAuthority;
  readonly image: string;
  private readonly docker: Docker;
  private readonly settings: NodeSettings;
  /** The run's event history (history.jsonl). */
  readonly history: History;
  private readonly nodes: StartedIcingaNode[] = [];
  private stopped: StoppedIcingaStack | undefined;
  private swarmInstance: Swarm | undefined;
  private refusedByDesign = new Set<string>();
  private keylog: KeylogFile | undefined;

  constructor(init: {
    docker: Docker;
    run: RunFolder;
    network: string;
    topology: Topology;
    ca: CertificateAuthority;
    settings: NodeSettings;
    image: string;
    history: History;
  }) {
    this.history = init.history;
    this.docker = init.docker;
    this.run = init.run;
    this.network = init.network;
    this.topology = init.topology;
    this.ca = init.ca;
    this.settings = init.settings;
    this.image = init.image;
  }

  /** @internal used while starting */
  async addNode(node: StartedIcingaNode): Promise<void> {
    this.nodes.push(node);
  }

  /** @internal used while starting */
  async startSwarm(options: SimulatedEndpointOptions, seed: number): Promise<void> {
    this.keylog = new KeylogFile(join(this.run.dir, 'keys', 'swarm.keylog'));
    this.refusedByDesign = new Set(
      Object.entries(options.faults ?? {})
        .filter(([, faults]) => (faults.chainPadding ?? 0) > 0 || faults.wrongCa)
        .map(([name]) => name),
    );
    const targets = [];
    for (const master of this.masters) {
      const { version } = await master.api.icingaApplication();
      targets.push({
        name: master.name,
        host: master.address,
        port: API_PORT,
        version: icingaVersionNumber(version),
      });
    }
    this.swarmInstance = await Swarm.start({
      endpoints: this.topology.simulated ?? [],
      targets,
      ca: this.ca,
      keySpec: options.keySpec,
      checks: options.checks,
      faults: options.faults,
      seed,
      keylog: this.keylog,
      events: this.history,
      maxConcurrentConnects: options.maxConcurrentConnects,
    });
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
    const node = this.nodes.find((candidate) => candidate.name === name);
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
    const started = performance.now();
    const deadline = Date.now() + timeoutMs;
    let missing: string[] = [];
    while (Date.now() < deadline) {
      missing = await this.missingConnections();
      if (missing.length === 0) return { ms: Math.round(performance.now() - started) };
      await sleep(100);
    }
    throw new HuntError(
      ErrorCodes.STACK_NOT_READY,
      `Stack not ready after ${Math.round(timeoutMs / 1000)} s: ${summarize(missing)}. Logs: ${join(this.run.dir, 'logs')}`,
      { details: { missing } },
    );
  }

  /** "master1 does not see agent-2" lines for every connection still missing. */
  async missingConnections(): Promise<string[]> {
    const missing: string[] = [];
    // Simulated endpoints count only when this stack's swarm connects them (not with connect:
    // false), and not those whose faults are meant to be refused (a padded chain, a wrong CA).
    const simulated = this.swarmInstance
      ? (this.topology.simulated ?? []).filter((name) => !this.refusedByDesign.has(name))
      : [];
    const all = [...this.topology.masters, ...this.topology.agents, ...simulated];
    for (const master of this.masters) {
      const seen = await master.api.endpointConnections().catch((error: Error) => error);
      if (seen instanceof Error) {
        missing.push(`${master.name} API not answering (${seen.message.split('\n')[0]})`);
        continue;
      }
      for (const name of all) {
        if (name !== master.name && seen.get(name) !== true)
          missing.push(`${master.name} does not see ${name}`);
      }
    }
    return missing;
  }

  async stop(): Promise<StoppedIcingaStack> {
    if (this.stopped) return this.stopped;
    await this.swarmInstance?.stop();
    const removed: string[] = [];
    await Promise.all(
      this.nodes.map(async (node) => {
        await node.stop();
        removed.push(node.name);
      }),
    );
    await this.docker
      .getNetwork(this.network)
      .remove()
      .catch(() => undefined);
    await this.keylog?.close();
    await this.history.close();
    this.stopped = new StoppedIcingaStack(this.run, removed);
    return this.stopped;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/** What is left of a stack: its run folder (logs, run.json). */
export class StoppedIcingaStack {
  readonly run: RunFolder;
  readonly removedNodes: string[];

  constructor(run: RunFolder, removedNodes: string[]) {
    this.run = run;
    this.removedNodes = removedNodes;
  }
}

function summarize(missing: string[]): string {
  return missing.length <= 6
    ? missing.join('; ')
    : `${missing.slice(0, 6).join('; ')}; and ${missing.length - 6} more`;
}
