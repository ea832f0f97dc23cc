import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCodes, HuntError } from '../../errors.ts';
import type { KeySpec } from '../../pki/key-spec.ts';
import { ContextSwaps } from './context-swaps.ts';
import { recordReload } from './reload/reload-record.ts';
import type { StartedIcingaStack } from './stack/icinga-stack.ts';

export interface RenewalOptions {
  /** The node whose certificate is renewed (not the CA holder). */
  node: string;
  /** Renewals to drive (each a reload of the node: bounded, 1 to 10,000). */
  renewals: number;
  /** The planted certificate's validity (days, under Icinga's 30-day renewal threshold). Default 20. */
  days?: number;
  /** Its key type (the stack's). */
  keySpec: KeySpec;
  /** Anonymous connect loops beside the renewals (0 to 64), as in the race hunt. */
  connectLoad: number;
  /** How long a renewal may take to swap the node's context after its reload. Default 30 s. */
  deadlineMs?: number;
  signal?: AbortSignal;
}

export interface RenewalSummary {
  /** Reloads with an expiring certificate in place. */
  planted: number;
  /** Context swaps the node logged (the renewal's pki::UpdateCertificate from the CA holder). */
  swapped: number;
  missed: number;
  stoppedBy: 'count' | 'signal' | 'node-gone' | 'no-renewal';
}

/** Renewals missed in a row that mean this version never renews here (2.12.3: a second master never asks its zone peer). */
const MISSES_TO_STOP = 3;

/**
 * Icinga's own path to a context swap, the one a real cluster takes: the node runs an expiring
 * certificate (planted, then a reload makes its new worker present it); connecting to the CA
 * holder (a stack built `withRenewals`), it asks for a renewal; the holder signs one and answers
 * with pki::UpdateCertificate, and the node swaps its TLS context ("Updating the client
 * certificate ... at runtime", counted from its log as a `context-swap` disruption). Again and
 * again, with anonymous connect loops beside, to compare with the anonymous message's race. Each
 * reload is the storm's pair of history events; each renewal a `renewal:swapped` or
 * `renewal:missed` event.
 */
export async function renewCertificates(
  ctx: { signal: AbortSignal },
  stack: StartedIcingaStack,
  options: Omit<RenewalOptions, 'signal'>,
): Promise<RenewalSummary> {
  const node = stack.masters.find((master) => master.name === options.node);
  if (!node)
    throw new HuntError(ErrorCodes.USAGE, `Renewals: ${options.node} is not a master of this stack.`);
  if (!Number.isInteger(options.renewals) || options.renewals < 1 || options.renewals > 10_000)
    throw new HuntError(ErrorCodes.USAGE, `Renewals: 1 to 10000, not ${options.renewals}.`);
  const days = options.days ?? 20;
  // One expiring certificate and its key, planted again before each reload: the renewal signs
  // the key the node presents, so the planted pair always matches what the node holds.
  const expiring = await stack.ca.issue(options.node, options.keySpec, { validDays: days });
  let swaps = 0;
  const unsubscribe = stack.history.subscribe((event) => {
    if (event.type === 'disruption-started' && event.kind === 'context-swap' && event.node === options.node)
      swaps++;
  });
  const load =
    options.connectLoad > 0
      ? await ContextSwaps.start(stack, {
          node: options.node,
          ratePerSecond: 1,
          senders: 0,
          connectLoad: options.connectLoad,
          maxSwaps: 1,
          signal: ctx.signal,
        })
      : undefined;
  const summary: RenewalSummary = { planted: 0, swapped: 0, missed: 0, stoppedBy: 'count' };
  let missesInRow = 0;
  try {
    for (let step = 1; step <= options.renewals; step++) {
      if (ctx.signal.aborted) {
        summary.stoppedBy = 'signal';
        break;
      }
      if (!(await node.isRunning())) {
        summary.stoppedBy = 'node-gone';
        break;
      }
      await plant(stack, options.node, 'crt', expiring.certificatePem);
      await plant(stack, options.node, 'key', expiring.privateKeyPem);
      summary.planted++;
      const before = swaps;
      const record = recordReload(stack.history, { step, master: options.node, via: 'signal' });
      const reloaded = await node.reload({ via: 'signal', onSignalled: record.signalled }).then(
        (outcome) => {
          record.finished({ newPid: outcome.newPid, barrierMs: outcome.ms });
          return true;
        },
        (error: Error) => {
          record.failed(error.message);
          return false;
        },
      );
      if (!reloaded) {
        // A reload refused or stuck renews nothing: a miss, so a node that never reloads ends it.
        summary.missed++;
        if (++missesInRow >= MISSES_TO_STOP) {
          summary.stoppedBy = 'no-renewal';
          break;
        }
        continue;
      }
      const started = performance.now();
      const deadline = started + (options.deadlineMs ?? 30_000);
      while (swaps === before && performance.now() < deadline && !ctx.signal.aborted)
        await sleep(100, undefined, { signal: ctx.signal }).catch(() => undefined);
      if (swaps > before) {
        summary.swapped++;
        missesInRow = 0;
        stack.history.record('renewal', 'swapped', {
          step,
          node: options.node,
          ms: Math.round(performance.now() - started),
        });
      } else if (!ctx.signal.aborted) {
        summary.missed++;
        stack.history.record('renewal', 'missed', {
          step,
          node: options.node,
          deadlineMs: options.deadlineMs ?? 30_000,
        });
        if (++missesInRow >= MISSES_TO_STOP) {
          summary.stoppedBy = 'no-renewal';
          break;
        }
      }
    }
  } finally {
    unsubscribe();
    await load?.end('signal');
    stack.history.record('renewal', 'renewals-finished', { node: options.node, ...summary });
  }
  return summary;
}

/** Replaces the node's certificate or key file whole (a rename), keeping its owner and mode. */
async function plant(
  stack: StartedIcingaStack,
  node: string,
  kind: 'crt' | 'key',
  content: string,
): Promise<void> {
  const path = `/var/lib/icinga2/certs/${node}.${kind}`;
  const written = await stack
    .node(node)
    .exec([
      'sh',
      '-c',
      'printf "%s\\n" "$1" > "$2.hh" && chown --reference="$2" "$2.hh" && chmod --reference="$2" "$2.hh" && mv "$2.hh" "$2"',
      'plant',
      content,
      path,
    ]);
  if (written.exitCode !== 0)
    throw new HuntError(
      ErrorCodes.STACK_NOT_READY,
      `Cannot write ${path} in ${node}: ${written.output.trim()}`,
    );
}
