import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCodes, HuntError } from '../../errors.ts';
import { sleepUntil } from '../../proxy/toxic.ts';
import { openJsonRpc } from './jsonrpc-client.ts';
import type { StartedIcingaStack } from './stack/icinga-stack.ts';

export interface ContextSwapOptions {
  /** The master whose TLS context is swapped. */
  node: string;
  /** Swaps sent per second at most (1 to 500); each waits for the node to close its connection. */
  ratePerSecond: number;
  /** Swaps in flight at once (1 to 16, default 4): one connection each, the rate shared. */
  senders?: number;
  /** Anonymous connect loops beside the swaps (0 to 64): each opens a TLS connection, closes it, again. */
  connectLoad: number;
  /** Swaps sent at most (bounded: 1 to 1,000,000). */
  maxSwaps: number;
  /**
   * Unanswered swaps, with none made or answered before them, after which the node is taken to
   * refuse the message (a fixed release holds each one open for the 5 s timeout): the swaps
   * stop, `stoppedBy: 'refused'` (default 20).
   */
  refusedAfter?: number;
  /** Stops the swaps and the load. */
  signal?: AbortSignal;
}

export interface ContextSwapSummary {
  sent: number;
  /** Swaps whose connection the node closed (it swapped, or refused): what the node answered. */
  closedByNode: number;
  /**
   * Swaps sent that the node neither swapped nor closed within the connection's timeout (5 s): a
   * hang's sign on an affected version, or a fixed version ignoring the message.
   */
  unanswered: number;
  /** Swaps the node made, counted from its log ("Updating the client certificate ..."). */
  swapped: number;
  connects: number;
  connectFailures: number;
  /** Why it stopped ('refused': the node ignored every swap sent, as a fixed release does). */
  stoppedBy: 'count' | 'signal' | 'node-gone' | 'refused';
}

/** After the node is gone, how long the observers get to see it before the run may end. */
const SETTLE_MS = 8_000;

/** The advisory whose hole the swaps go through: anonymous pki::UpdateCertificate accepted. */
export const UPDATE_CERTIFICATE_ADVISORY = 'GHSA-vj39-ww8j-vvx5';

/** How long the advisory's verdict waits for the node's log to show a swap it made. */
const LOG_GRACE_MS = 3_000;

/** How long a node whose connections all fail gets to show its container has exited. */
const EXIT_WAIT_MS = 3_000;

/** Unanswered swaps (none made or answered) that mean the node refuses them: a fixed release. */
const REFUSED_AFTER = 20;

/** Connection failures in a row that mean the node is gone (its daemon died). */
const GONE_AFTER_FAILURES = 50;

/**
 * The race hunt's driver: anonymous `pki::UpdateCertificate` messages carrying the node's own
 * certificate and its CA (what the node sends in every handshake: nothing changes but the swap),
 * one connection each, at a set rate, while `connectLoad` loops open anonymous TLS connections
 * to the same node. 2.12.3-2.14.6 accept them (advisory GHSA-vj39-ww8j-vvx5) and swap their TLS
 * context, dropping every connection. Only ever aimed at the harness's own stack. Per second it
 * records `jsonrpc:second` (swaps sent, closed by the node, connects, failures and a reason); the
 * swaps the node made are counted from its log, not from what was sent.
 */
export class ContextSwaps {
  private readonly stack: StartedIcingaStack;
  private readonly options: ContextSwapOptions;
  private readonly stop = new AbortController();
  private readonly counts = { sent: 0, closedByNode: 0, unanswered: 0, connects: 0, connectFailures: 0 };
  private second = emptySecond();
  /** Swaps the node logged (its context-swap disruption windows), counted live. */
  private swapped = 0;
  private failuresInRow = 0;
  private taken = 0;
  /** When the next swap may go (performance.now()): the senders share the rate. */
  private nextDue = performance.now();
  private stoppedBy: ContextSwapSummary['stoppedBy'] = 'count';
  private readonly done: Promise<ContextSwapSummary>;

  private constructor(stack: StartedIcingaStack, options: ContextSwapOptions, certificatePem: string) {
    this.stack = stack;
    this.options = options;
    const onAbort = () => void this.end('signal');
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const unsubscribe = stack.history.subscribe((event) => {
      if (event.type === 'disruption-started' && event.kind === 'context-swap' && event.node === options.node)
        this.swapped++;
    });
    const timer = setInterval(() => this.flush(), 1_000);
    // Interrupted during the set-up before (stack.ready(), the capture): stop at once, before
    // any loop opens a connection.
    if (options.signal?.aborted) onAbort();
    const senders = Array.from({ length: options.senders ?? 4 }, () => this.swapLoop(certificatePem));
    // The count is reached once every sender is through with the swaps it took: a sender that
    // finds the budget taken must not stop the others before they send theirs.
    void Promise.all(senders).then(() => {
      if (this.taken >= options.maxSwaps) void this.end('count');
    });
    const loops = [...senders, ...Array.from({ length: options.connectLoad }, () => this.connectLoop())];
    this.done = Promise.all(loops).then(async () => {
      clearInterval(timer);
      options.signal?.removeEventListener('abort', onAbort);
      this.flush();
      // The node logs a swap a moment after it closed the sender's connection.
      const deadline = performance.now() + LOG_GRACE_MS;
      while (this.swapped === 0 && this.counts.closedByNode > 0 && performance.now() < deadline)
        await sleep(100);
      unsubscribe();
      const summary = { ...this.counts, swapped: this.swapped, stoppedBy: this.stoppedBy };
      stack.history.record('jsonrpc', 'swaps-stopped', { node: options.node, ...summary });
      // Connections failing in a row are not a death: an overloaded or paused node fails them too.
      const died = summary.stoppedBy === 'node-gone' && !(await this.nodeRunning());
      this.recordAdvisory(summary, died);
      return summary;
    });
  }

  static async start(stack: StartedIcingaStack, options: ContextSwapOptions): Promise<ContextSwaps> {
    const bad = (what: string) => new HuntError(ErrorCodes.USAGE, `Context swaps: ${what}.`);
    const whole = (value: number, min: number, max: number) =>
      Number.isInteger(value) && value >= min && value <= max;
    if (!stack.masters.some((master) => master.name === options.node))
      throw bad(`${options.node} is not a master of this stack`);
    if (!whole(options.ratePerSecond, 1, 500))
      throw bad(`the rate is 1 to 500 per second, not ${options.ratePerSecond}`);
    if (!whole(options.connectLoad, 0, 64))
      throw bad(`the connect load is 0 to 64 loops, not ${options.connectLoad}`);
    if (!whole(options.maxSwaps, 1, 1_000_000))
      throw bad(`maxSwaps is 1 to 1000000, not ${options.maxSwaps}`);
    const read = await stack.node(options.node).exec(['cat', `/var/lib/icinga2/certs/${options.node}.crt`]);
    if (read.exitCode !== 0 || !read.output.includes('BEGIN CERTIFICATE'))
      throw new HuntError(
        ErrorCodes.STACK_NOT_READY,
        `Cannot read ${options.node}'s own certificate: ${read.output.trim()}`,
      );
    const certificatePem = read.output.slice(read.output.indexOf('-----BEGIN CERTIFICATE-----'));
    stack.history.record('jsonrpc', 'swaps-started', {
      node: options.node,
      ratePerSecond: options.ratePerSecond,
      connectLoad: options.connectLoad,
      maxSwaps: options.maxSwaps,
    });
    return new ContextSwaps(stack, options, certificatePem);
  }

  /** Resolves when the swaps end: their count sent, the signal, or the node gone. */
  finished(): Promise<ContextSwapSummary> {
    return this.done;
  }

  /** Ends the swaps and the load now. */
  async end(reason: ContextSwapSummary['stoppedBy'] = 'signal'): Promise<ContextSwapSummary> {
    if (!this.stop.signal.aborted) {
      this.stoppedBy = reason;
      this.stop.abort();
    }
    return this.done;
  }

  private async swapLoop(certificatePem: string): Promise<void> {
    const { node, ratePerSecond, maxSwaps } = this.options;
    const message = {
      jsonrpc: '2.0' as const,
      method: 'pki::UpdateCertificate',
      params: { cert: certificatePem, ca: this.stack.ca.certificatePem },
    };
    // Each sender takes a swap of the budget before it connects: never more than maxSwaps in all.
    while (!this.stop.signal.aborted && this.taken < maxSwaps) {
      this.taken++;
      const due = Math.max(this.nextDue, performance.now());
      this.nextDue = due + 1_000 / ratePerSecond;
      await sleepUntil(due, this.stop.signal).catch(() => undefined);
      if (this.stop.signal.aborted) break;
      const session = openJsonRpc(this.stack, node, { kind: 'anonymous' });
      const ready = await session.ready.then(
        () => true,
        () => false,
      );
      if (ready) {
        session.send(message);
        this.counts.sent++;
        this.second.swapsSent++;
      }
      const { end, error } = await session.ended;
      if (end === 'closed-by-node' && ready) {
        this.counts.closedByNode++;
        this.second.closedByNode++;
      }
      // Sent and neither swapped nor closed within the timeout: on an affected version a hang's
      // first sign; a fixed one (2.14.9+) ignores the message and keeps the connection open.
      if (end === 'timeout' && ready) {
        this.counts.unanswered++;
        this.second.unanswered++;
        // A fixed release ignores every message: waiting out thousands of timeouts (an hour at
        // the defaults) would show nothing more.
        const { unanswered, closedByNode } = this.counts;
        if (
          unanswered >= (this.options.refusedAfter ?? REFUSED_AFTER) &&
          closedByNode === 0 &&
          this.swapped === 0
        ) {
          void this.end('refused');
          return;
        }
      }
      if (!this.failed(ready, error)) return;
    }
  }

  private async connectLoop(): Promise<void> {
    while (!this.stop.signal.aborted) {
      const session = openJsonRpc(this.stack, this.options.node, { kind: 'anonymous' }, { timeoutMs: 5_000 });
      const ready = await session.ready.then(
        () => true,
        () => false,
      );
      session.close();
      const { error } = await session.ended;
      if (ready) {
        this.counts.connects++;
        this.second.connects++;
      } else {
        this.counts.connectFailures++;
        this.second.connectFailures++;
      }
      if (!this.failed(ready, error)) return;
      // A refused connect comes back at once: do not spin on a node that is down.
      if (!ready) await sleep(100, undefined, { signal: this.stop.signal }).catch(() => undefined);
    }
  }

  /** Counts a failure in a row; false once the node is gone (and everything stops). */
  private failed(ok: boolean, error: string | undefined): boolean {
    if (ok) {
      this.failuresInRow = 0;
      return true;
    }
    this.second.reason ||= error ?? 'no TLS';
    if (++this.failuresInRow < GONE_AFTER_FAILURES) return true;
    this.stack.history.record('jsonrpc', 'node-unreachable', { node: this.options.node, error });
    void this.end('node-gone');
    return false;
  }

  private flush(): void {
    const { reason, ...counts } = this.second;
    if (Object.values(counts).some((count) => count > 0))
      this.stack.history.record('jsonrpc', 'second', {
        node: this.options.node,
        ...counts,
        ...(reason ? { reason } : {}),
      });
    this.second = emptySecond();
  }

  /** Whether the node's container still runs, given a dying daemon a few seconds to exit. */
  private async nodeRunning(): Promise<boolean> {
    const node = this.stack.masters.find((master) => master.name === this.options.node);
    const deadline = performance.now() + EXIT_WAIT_MS;
    for (;;) {
      if (!(await node?.isRunning().catch(() => false))) return false;
      if (performance.now() >= deadline) return true;
      await sleep(250);
    }
  }

  private recordAdvisory(summary: ContextSwapSummary, died: boolean): void {
    const verdict = advisoryVerdict(summary, died);
    if (verdict)
      this.stack.history.record('jsonrpc', 'advisory', {
        advisory: UPDATE_CERTIFICATE_ADVISORY,
        node: this.options.node,
        ...verdict,
      });
  }
}

/**
 * The advisory's verdict for this version, from what the node did: affected when it logged a
 * swap for the anonymous messages, or its daemon died under them (`died`: its container no longer
 * runs). Icinga flushes its log once a second (StreamLogger's timer), so a daemon that dies within
 * a second of the first message takes its swap lines with it. Nothing sent: no verdict.
 */
export function advisoryVerdict(
  summary: Pick<ContextSwapSummary, 'sent' | 'swapped'>,
  died: boolean,
): { affected: boolean; evidence: string } | undefined {
  if (summary.sent === 0) return undefined;
  const logged = `${summary.swapped} context swaps logged for ${summary.sent} anonymous pki::UpdateCertificate sent`;
  if (!died) return { affected: summary.swapped > 0, evidence: logged };
  return {
    affected: true,
    evidence:
      summary.swapped > 0
        ? `${logged}, then the daemon died`
        : `the daemon died under ${summary.sent} anonymous pki::UpdateCertificate before a swap reached its log (Icinga writes its log out once a second: a crash loses that second)`,
  };
}

function emptySecond() {
  return { swapsSent: 0, closedByNode: 0, unanswered: 0, connects: 0, connectFailures: 0, reason: '' };
}

/**
 * Context swaps in a scenario: `ContextSwaps` on the run's abort signal (Ctrl-C, --duration),
 * resolved with the summary once they end.
 */
export async function swapContexts(
  ctx: { signal: AbortSignal },
  stack: StartedIcingaStack,
  options: Omit<ContextSwapOptions, 'signal'>,
): Promise<ContextSwapSummary> {
  const swaps = await ContextSwaps.start(stack, { ...options, signal: ctx.signal });
  const summary = await swaps.finished();
  // The node is gone: give the observers the seconds they need to see it (a silent worker is
  // one after 3 s) before the run ends and stops them.
  if (summary.stoppedBy === 'node-gone')
    await sleep(SETTLE_MS, undefined, { signal: ctx.signal }).catch(() => undefined);
  return summary;
}
