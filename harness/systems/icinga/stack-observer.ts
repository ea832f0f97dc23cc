import { LogRecorder } from '../../observe/log-recorder.ts';
import { ResourceRecorder } from '../../observe/resource-recorder.ts';
import { recordDisruption } from '../../run/disruption.ts';
import { IncidentReactions, type PersistenceOptions } from './incident-reactions.ts';
import type { StartedIcingaStack } from './stack/icinga-stack.ts';
import { WorkerRecorder } from './worker-recorder.ts';

/** What a worker logs once its API listener is up (after a start or a reload). */
const LISTENER_UP = /ApiListener: Started new listener on/;
/**
 * What a master logs right before it swaps its TLS context (pki::UpdateCertificate; the same text
 * in 2.12.3, 2.13.6 and 2.14.6): the swaps it made, counted from what it did, not what was sent.
 */
const CONTEXT_SWAP =
  /Updating the client certificate for CN '([^']*)' at runtime and reconnecting the endpoints/;

export interface ObserverOptions {
  /** More log patterns to record (name -> regex); the log detector's kind is "pattern:<name>". */
  patterns?: Record<string, RegExp>;
  /** After a master fails handshakes: probe it with a good client, and optionally restart it. */
  persistence?: PersistenceOptions;
  /** Sample RSS, threads and open files of each master's icinga2 processes (ms; 0: off). */
  resourceEveryMs?: number;
  /** Ask each master for its worker pid (ms; 0: off, default 1000). */
  workerEveryMs?: number;
}

/**
 * Everything that watches a running stack, recording what it sees as history events: the
 * masters' matching log lines, their workers, their resources, and the reactions to incidents
 * (API snapshot, persistence probe, restart remedy). It opens no incident: detectors do that,
 * from the history (LiveDetection on the run).
 */
export class StackObserver {
  private readonly stack: StartedIcingaStack;
  private readonly options: ObserverOptions;
  private readonly logs: LogRecorder;
  private readonly workers: WorkerRecorder;
  private readonly resources: ResourceRecorder;
  private readonly reactions: IncidentReactions;
  private readonly unsubscribes: Array<() => void> = [];

  constructor(stack: StartedIcingaStack, options: ObserverOptions = {}) {
    this.stack = stack;
    this.options = options;
    this.logs = new LogRecorder(stack.history, options.patterns);
    this.workers = new WorkerRecorder(stack.history);
    this.resources = new ResourceRecorder(stack.history);
    this.reactions = new IncidentReactions(stack, options.persistence);
  }

  start(): this {
    this.logs.watch(this.stack.masters);
    const workerEvery = this.options.workerEveryMs ?? 1000;
    if (workerEvery > 0) this.workers.watch(this.stack.masters, workerEvery);
    const resourceEvery = this.options.resourceEveryMs ?? 0;
    if (resourceEvery > 0) this.resources.watch(this.stack.masters, 'icinga2', resourceEvery);
    this.reactions.start();
    // The other anchor for faults timed to a reload (beside the storm's reload-signalled): the
    // new worker's listener is up, as its log says.
    for (const master of this.stack.masters)
      this.unsubscribes.push(
        master.log.subscribe((line) => {
          if (LISTENER_UP.test(line.text))
            this.stack.history.record('observe', 'listener-up', {
              node: master.name,
              seq: line.seq,
              loggedAt: line.loggedAt === undefined ? undefined : new Date(line.loggedAt).toISOString(),
            });
          // A swap drops every connection of the node, as a reload does: a disruption window
          // (the detectors' grace covers the reconnect wave after it).
          else if (CONTEXT_SWAP.test(line.text))
            recordDisruption(this.stack.history, 'observe', { node: master.name, kind: 'context-swap' })();
        }),
      );
    return this;
  }

  async stop(): Promise<void> {
    for (const unsubscribe of this.unsubscribes) unsubscribe();
    this.logs.stop();
    this.workers.stop();
    this.resources.stop();
    await this.reactions.stop();
  }
}
