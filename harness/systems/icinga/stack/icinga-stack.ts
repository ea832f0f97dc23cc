import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ErrorCodes, HuntError } from '../../../errors.ts';
import { resultsDir } from '../../../paths.ts';
import { CertificateAuthority, type IssuedCertificate } from '../../../pki/certificate-authority.ts';
import { KeyCache } from '../../../pki/key-cache.ts';
import { type KeySpec, keySpecName, RSA_4096 } from '../../../pki/key-spec.ts';
import { type Progress, silentProgress } from '../../../progress.ts';
import type { ChaosProxy } from '../../../proxy/chaos-proxy.ts';
import type { Run } from '../../../run/run.ts';
import type { TargetBuilder } from '../../../seam/target.ts';
import { TargetLaunch } from '../../../seam/target-launch.ts';
import { resolveUserImage, withHarnessParts } from '../images/icinga-image.ts';
import { imageForVersion } from '../images/icinga-images.ts';
import { icingaVersionNumber } from '../swarm/messages.ts';
import { type SimulatedEndpointOptions, Swarm } from '../swarm/swarm.ts';
import {
  type AgentConnection,
  API_PORT,
  type LogSeverity,
  type NodeSettings,
  renderAgentConfig,
  renderMasterConfig,
  type Topology,
  validateTopology,
} from './icinga-config.ts';
import type { StartedIcingaNode } from './icinga-node.ts';
import { type CertFaultMode, startNode } from './node-starter.ts';
import { StartedIcingaStack } from './started-icinga-stack.ts';

const API_USER = 'hunt';

/**
 * A containerized Icinga 2 stack: 1 or 2 masters in an HA zone, real agents each in a zone of
 * their own. The builder only records intent; `start()` does the work and returns a
 * StartedIcingaStack, which is AsyncDisposable:
 *
 *   await using stack = await IcingaStack.version('2.13.6').masters(2).agents(2).start();
 *   await stack.ready();
 */
export class IcingaStack implements TargetBuilder<StartedIcingaStack> {
  private readonly source: { version: string } | { image: string };
  private masterCount = 2;
  private agentCount = 0;
  private connection: AgentConnection = 'masters-dial';
  private leafKeys: KeySpec = RSA_4096;
  private caKeys: KeySpec = RSA_4096;
  private severity: LogSeverity = 'information';
  private interval = 10;
  private readonly snippets: Record<string, string> = {};
  private simulatedCount = 0;
  private simulatedOptions: SimulatedEndpointOptions = {};
  private keyCacheDir: string | undefined = join(resultsDir(), '.cache', 'keys');
  private trust: { cas?: number; intermediates?: number } = {};
  private renewals: { holder: string; expiring: readonly string[]; days: number } | undefined;
  private readonly proxiedNodes = new Set<string>();
  private tlsSecrets = true;
  private readonly certFaults = new Map<string, CertFaultMode>();
  /** Where each node's key log rotates (one old generation kept; the shim's default: 128 MiB). */
  private keylogMaxBytes: number | undefined;

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

  /** Who dials whom between masters and agents (default: masters dial agents). */
  agentConnection(mode: AgentConnection): this {
    this.connection = mode;
    return this;
  }

  /**
   * Every connection to these nodes goes through a chaos proxy of its own: the other master's
   * Endpoint, the agents (where they dial) and the simulated endpoints all dial the proxy, which
   * listens on the network's gateway address. `stack.proxy(name)` takes toxics at run time.
   */
  proxied(...names: string[]): this {
    for (const name of names) this.proxiedNodes.add(name);
    return this;
  }

  /**
   * The field signature on a switch: these nodes' daemons run with the certificate-fault shim,
   * which shrinks their TLS objects' max_cert_list while the fault is on, so they refuse every
   * peer's Certificate message ("excessive message size", alert 47 to the peer). `mode`:
   * 'trigger' while CERT_FAULT_TRIGGER exists in the node; 'worker' latched in the worker that saw
   * it (the next reload clears it); 'umbrella' latched across reloads until a restart. The
   * `trigger-file` nemesis creates and removes the trigger. Our images only.
   */
  withCertFault(mode: CertFaultMode, ...nodes: string[]): this {
    for (const node of nodes.length > 0 ? nodes : ['master1']) this.certFaults.set(node, mode);
    return this;
  }

  /**
   * Whether icinga2 writes its TLS secrets (keys/nodes/<node>.keylog, through the key-log shim
   * in our images), so captures of Icinga's own connections decrypt. On by default: the keys are
   * the run's own test keys. User-named images without the shim simply write none.
   * `maxBytes`: each key log rotates at this size to <node>.keylog.1 (one old generation kept).
   */
  withTlsSecrets(enabled: boolean, options: { maxBytes?: number } = {}): this {
    this.tlsSecrets = enabled;
    this.keylogMaxBytes = options.maxBytes;
    return this;
  }

  /** Key type and size of every node's certificate (default RSA 4096, as `icinga2 pki`). */
  withKeys(spec: KeySpec, caSpec: KeySpec = spec): this {
    this.leafKeys = spec;
    this.caKeys = caSpec;
    return this;
  }

  /**
   * The certificate hierarchy's shape: `cas` CA certificates in every node's ca.crt (the root and
   * fillers: each name goes into the CertificateRequest), `intermediates` CAs between the root and
   * the leaves (each node sends them in its Certificate message). Default 1 and 0.
   */
  withTrust(options: { cas?: number; intermediates?: number }): this {
    this.trust = { ...this.trust, ...options };
    return this;
  }

  /**
   * Icinga's own renewal path: `holder` keeps the CA (it signs renewals, as a CA master does), and
   * each node in `expiring` gets a certificate valid for `days` days only (Icinga renews within 30),
   * so it asks for a renewal when it connects. 2.13+ only: there a second master asks the first.
   */
  withRenewals(holder: string, expiring: readonly string[], days = 20): this {
    this.renewals = { holder, expiring, days };
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

  /**
   * Starts the stack inside a run: its logs, keys and events go to the run's folder and history,
   * its random choices derive from the run's seed, and it describes itself in run.json.
   * `signal` interrupts the set-up (image build, node starts, swarm connect, `ready()`): what was
   * started is removed and the promise rejects with the signal's reason.
   */
  async start(
    run: Run,
    progress: Progress = silentProgress,
    signal?: AbortSignal,
  ): Promise<StartedIcingaStack> {
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
    const names = [...topology.masters, ...topology.agents];
    const notNodes = [...this.proxiedNodes].filter((name) => !names.includes(name));
    if (notNodes.length > 0)
      throw new HuntError(
        ErrorCodes.USAGE,
        `Cannot proxy ${notNodes.join(', ')}: not a node of this stack (nodes: ${names.join(', ')}).`,
      );
    const notFaultable = [...this.certFaults.keys()].filter((name) => !names.includes(name));
    if (notFaultable.length > 0)
      throw new HuntError(
        ErrorCodes.USAGE,
        `Cannot give ${notFaultable.join(', ')} the certificate fault: not a node of this stack (nodes: ${names.join(', ')}).`,
      );
    if (!Number.isInteger(this.agentCount) || this.agentCount < 0 || this.agentCount > 200) {
      throw new HuntError(
        ErrorCodes.USAGE,
        `Real agents: 0 to 200 containers, not ${this.agentCount}. Use simulated endpoints for more.`,
      );
    }

    await using launch = await TargetLaunch.open(run, progress, signal);
    const { docker } = launch;
    const image =
      'version' in this.source
        ? await imageForVersion(docker, this.source.version, progress, signal)
        : await withHarnessParts(
            docker,
            await resolveUserImage(docker, this.source.image, progress, signal),
            progress,
            signal,
          );
    signal?.throwIfAborted();
    const settings: NodeSettings = {
      ticketSalt: randomBytes(16).toString('hex'),
      logSeverity: this.severity,
      checkInterval: this.interval,
      apiUser: { name: API_USER, password: randomBytes(18).toString('base64url') },
      snippets: this.snippets,
    };
    const description: Record<string, unknown> = {
      image,
      source: this.source,
      masters: topology.masters,
      agents: topology.agents.length,
      simulatedEndpoints: this.simulatedCount,
      agentConnection: topology.agentConnection,
      proxied: [...this.proxiedNodes],
      tlsSecrets: this.tlsSecrets,
      keys: { leaf: keySpecName(this.leafKeys), ca: keySpecName(this.caKeys) },
      trust: { cas: this.trust.cas ?? 1, intermediates: this.trust.intermediates ?? 0 },
      ...(this.renewals ? { renewals: this.renewals } : {}),
      logSeverity: this.severity,
      checkInterval: this.interval,
      snippets: Object.keys(this.snippets),
      certFaults: Object.fromEntries(this.certFaults),
    };
    await run.describe('stack', description);

    progress.step(
      `issuing certificates (${keySpecName(this.leafKeys)}) for ${topology.masters.length + topology.agents.length} nodes`,
    );
    const ca = await CertificateAuthority.create({
      // The name `icinga2 pki new-ca` gives its CA.
      commonName: 'Icinga CA',
      keySpec: this.caKeys,
      keyCache: new KeyCache(this.keyCacheDir),
      trustedCas: this.trust.cas,
      intermediates: this.trust.intermediates,
    });
    const certificates = new Map<string, IssuedCertificate>();
    for (const name of [...topology.masters, ...topology.agents]) {
      signal?.throwIfAborted();
      const days = this.renewals?.expiring.includes(name) ? this.renewals.days : undefined;
      certificates.set(name, await ca.issue(name, this.leafKeys, { validDays: days }));
    }
    signal?.throwIfAborted();

    const network = await launch.network();
    // A proxied node is dialled at its proxy on the gateway from the first configuration on; the
    // proxy refuses connections until its node runs.
    const proxies = new Map<string, ChaosProxy>();
    for (const name of this.proxiedNodes) {
      const proxy = await launch.proxy(name);
      proxies.set(name, proxy);
      topology.hostOf[name] = { host: proxy.listen.host, port: proxy.listen.port };
    }
    const nodes: StartedIcingaNode[] = [];
    const start = async (name: string, role: 'master' | 'agent') => {
      const files =
        role === 'master'
          ? renderMasterConfig(topology, name, settings)
          : renderAgentConfig(topology, name, settings);
      const node = await startNode({
        docker,
        run,
        network,
        image,
        name,
        role,
        files,
        certificates,
        ca,
        settings,
        tlsSecrets: this.tlsSecrets,
        keylogMaxBytes: this.keylogMaxBytes,
        signal,
        certFault: this.certFaults.get(name),
        caHolder: role === 'master' && this.renewals?.holder === name,
      });
      nodes.push(launch.ownsNode(node));
      await proxies.get(name)?.retarget({ host: node.address, port: API_PORT });
      return node;
    };
    // Whoever is dialled starts first, so the first connection attempt succeeds instead of
    // waiting for Icinga's reconnect timer: master2 before master1 (master1 dials master2),
    // and agents before masters when masters dial them.
    const startMasters = async () => {
      for (const name of [...topology.masters].reverse()) {
        signal?.throwIfAborted();
        progress.step(`starting ${name}`);
        await start(name, 'master');
      }
    };
    const startAgents = async () => {
      if (topology.agents.length > 0) progress.step(`starting ${topology.agents.length} agents`);
      await inBatches(topology.agents, 4, async (name) => void (await start(name, 'agent')));
    };
    if (topology.agentConnection === 'masters-dial') {
      await startAgents();
      await startMasters();
    } else {
      await startMasters();
      await startAgents();
    }
    let swarm: { swarm: Swarm; refusedByDesign: ReadonlySet<string> } | undefined;
    if (this.simulatedCount > 0 && this.simulatedOptions.connect !== false) {
      progress.step(
        `connecting ${this.simulatedCount} simulated endpoints to ${topology.masters.length} masters`,
      );
      signal?.throwIfAborted();
      const masters = topology.masters.map(
        (name) => nodes.find((node) => node.name === name) as StartedIcingaNode,
      );
      swarm = {
        swarm: launch.owns(
          await startSwarm(run, topology, ca, masters, proxies, this.simulatedOptions),
          (started) => started.stop(),
        ),
        refusedByDesign: refusedByDesign(this.simulatedOptions),
      };
      signal?.throwIfAborted();
    }
    const started = new StartedIcingaStack({
      docker,
      run,
      network,
      topology,
      ca,
      settings,
      image,
      signal,
      nodes,
      proxies,
      swarm,
    });
    await run.describe('stack', { ...description, ...(await started.describeNodes(docker)) });
    launch.recordAddresses(started.nodes);
    launch.handOver();
    return started;
  }
}

/** Simulated endpoints whose faults are meant to be refused: a padded chain, a wrong CA. */
function refusedByDesign(options: SimulatedEndpointOptions): ReadonlySet<string> {
  return new Set(
    Object.entries(options.faults ?? {})
      .filter(([, faults]) => (faults.chainPadding ?? 0) > 0 || faults.wrongCa)
      .map(([name]) => name),
  );
}

/** The simulated endpoints, each dialling every master (a proxied one through its proxy, as everyone dials it). */
async function startSwarm(
  run: Run,
  topology: Topology,
  ca: CertificateAuthority,
  masters: readonly StartedIcingaNode[],
  proxies: ReadonlyMap<string, ChaosProxy>,
  options: SimulatedEndpointOptions,
): Promise<Swarm> {
  const targets = [];
  for (const master of masters) {
    const { version } = await master.api.icingaApplication();
    const proxy = proxies.get(master.name);
    targets.push({
      name: master.name,
      host: proxy ? proxy.listen.host : master.address,
      port: proxy ? proxy.listen.port : API_PORT,
      version: icingaVersionNumber(version),
    });
  }
  return Swarm.start({
    endpoints: topology.simulated ?? [],
    targets,
    ca,
    keySpec: options.keySpec,
    checks: options.checks,
    faults: options.faults,
    seed: run.seedFor('swarm'),
    keylog: run.keylog('swarm'),
    events: run.history,
    maxConcurrentConnects: options.maxConcurrentConnects,
  });
}

/**
 * Works through items `size` at a time. A batch is waited for whole even when one item fails: the
 * others' nodes are then registered for removal (or removed themselves) before the failure goes on.
 */
async function inBatches<T>(items: T[], size: number, work: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) {
    const results = await Promise.allSettled(items.slice(i, i + size).map(work));
    const failed = results.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
  }
}

export type { SimulatedEndpointOptions } from '../swarm/swarm.ts';
export { StartedIcingaStack, StoppedIcingaStack } from './started-icinga-stack.ts';
