import type Docker from 'dockerode';
import { ensureEngine } from '../engine/docker-engine.ts';
import { ErrorCodes, HuntError } from '../errors.ts';
import { type Progress, silentProgress } from '../progress.ts';
import { ChaosProxy } from '../proxy/chaos-proxy.ts';
import type { Run } from '../run/run.ts';
import { createRunNetwork } from './run-containers.ts';

/** Where a proxy's upstream points until its node runs: connections are refused (and counted). */
const NOWHERE = { host: '127.0.0.1', port: 9 };

/**
 * What every target's start does, written once: the engine, the run's network, chaos proxies on
 * its gateway, the nodes, the addresses detectors read; and, should any step fail or the run be
 * interrupted, the removal of what was started, newest first. A system's `start` asks for each
 * part here and then builds its started handle whole from the parts; `handOver()` gives them to
 * that handle, whose `stop()` removes them from then on.
 *
 *   await using launch = await TargetLaunch.open(run, progress, signal);
 *   const proxy = await launch.proxy('backend', upstream);
 *   const node = launch.ownsNode(await startTheNode(launch.docker, await launch.network()));
 *   launch.handOver();
 */
export class TargetLaunch implements AsyncDisposable {
  readonly docker: Docker;
  readonly run: Run;
  readonly signal: AbortSignal | undefined;
  #network: { network: string; gateway: string | undefined } | undefined;
  readonly #parts = new AsyncDisposableStack();
  /** Stopped together (a stack of twenty agents must not stop one by one on Ctrl-C), before the network goes. */
  readonly #nodes: Array<{ stop(): Promise<unknown> }> = [];
  #handedOver = false;

  private constructor(docker: Docker, run: Run, signal: AbortSignal | undefined) {
    this.docker = docker;
    this.run = run;
    this.signal = signal;
  }

  /**
   * Reaches the Docker engine (starting it where the harness may), unless given one already
   * reached; throws if `signal` fired.
   */
  static async open(
    run: Run,
    progress: Progress = silentProgress,
    signal?: AbortSignal,
    docker?: Docker,
  ): Promise<TargetLaunch> {
    const engine = docker ?? (await ensureEngine(progress)).docker;
    signal?.throwIfAborted();
    return new TargetLaunch(engine, run, signal);
  }

  /** The run's network, created on first use (labelled for `hunt clean`) and removed on failure. */
  async network(): Promise<string> {
    return (await this.#ensureNetwork()).network;
  }

  /** The host's address on the run's network: where proxies listen and the harness's clients come from. */
  async gateway(): Promise<string> {
    const { network, gateway } = await this.#ensureNetwork();
    if (!gateway)
      throw new HuntError(ErrorCodes.ENGINE_UNAVAILABLE, `Network ${network} has no gateway address.`);
    return gateway;
  }

  /**
   * A chaos proxy on the gateway, named after the node it stands in front of. Without an upstream
   * it refuses connections until `retarget` (the node starts after its proxy: peers may dial the
   * proxy's address from their first configuration on).
   */
  async proxy(name: string, upstream: { host: string; port: number } = NOWHERE): Promise<ChaosProxy> {
    const host = await this.gateway();
    this.signal?.throwIfAborted();
    const proxy = await ChaosProxy.start({
      name,
      listen: { host, port: 0 },
      upstream,
      seed: this.run.seedFor(`proxy:${name}`),
      events: this.run.history,
    });
    return this.owns(proxy, (started) => started.close());
  }

  /** A node the start made: should the start fail, every node stops at once, after the other parts. */
  ownsNode<T extends { stop(): Promise<unknown> }>(node: T): T {
    this.#checkOpen();
    // The nodes' stop is registered with the network (so it runs before the network goes).
    if (!this.#network) throw new Error('TargetLaunch.ownsNode: a node needs the network first (network()).');
    this.#nodes.push(node);
    return node;
  }

  /**
   * A part some other way started (a swarm, a load): removed with the rest should the start fail.
   * A part that fails to stop does not keep the others, nor hide why the start failed.
   */
  owns<T>(part: T, stop: (part: T) => Promise<unknown>): T {
    this.#checkOpen();
    this.#parts.defer(() => quietly(() => stop(part)));
    return part;
  }

  /** Who is who on the network, for detectors that read addresses in log lines. */
  recordAddresses(nodes: ReadonlyArray<{ name: string; address: string }>): void {
    this.run.history.record('stack', 'node-addresses', {
      addresses: Object.fromEntries(nodes.map((node) => [node.address, node.name])),
      gateway: this.#network?.gateway,
    });
  }

  /** The start succeeded: its parts are the started handle's now, and disposing removes nothing. */
  handOver(): void {
    this.#checkOpen();
    this.#handedOver = true;
    this.#parts.move();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#parts.disposeAsync();
  }

  #checkOpen(): void {
    if (this.#handedOver)
      throw new Error('TargetLaunch: the start was handed over; its handle owns the parts now.');
  }

  async #ensureNetwork(): Promise<{ network: string; gateway: string | undefined }> {
    if (!this.#network) {
      this.#checkOpen();
      this.signal?.throwIfAborted();
      const created = await createRunNetwork(this.docker, this.run.id);
      this.#network = created;
      this.owns(created.network, (network) => this.docker.getNetwork(network).remove());
      // Nodes live on the network: registered after it, they are stopped before it is removed.
      this.#parts.defer(async () => {
        await Promise.all(this.#nodes.map((node) => quietly(() => node.stop())));
      });
    }
    return this.#network;
  }
}

/** Runs a part's stop; its failure (thrown or rejected) neither keeps the others nor hides the start's error. */
async function quietly(stop: () => Promise<unknown>): Promise<void> {
  try {
    await stop();
  } catch {
    // The part is gone or going; `hunt clean` finds what a failed stop left, by its labels.
  }
}
