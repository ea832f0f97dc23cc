import { appendFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { Run } from '../run/run.ts';
import { stunnelDescription } from '../systems/stunnel/stunnel-target.ts';

export interface FixtureRunOptions {
  scenario?: string;
  params?: Record<string, unknown>;
  target?: { icinga: string } | { image: string };
  /** Barrier ms of each verified reload, in order. */
  barriers: number[];
  /** "excessive message size" failures, each logged by its own node (so one incident each). */
  tlsFailures?: number;
  /** Worker RSS growth per reload (KB), sampled every 10 reloads. */
  rssGrowthKb?: number;
  seed?: number;
  /** Context swaps of master2 (disruption windows), before anything else. */
  swaps?: number;
  /** After this many of the swaps, the TLS failures come (the rest of the swaps after them). */
  failAfterSwaps?: number;
  /** Values the scenario measured (`measure:value` events). */
  measures?: Record<string, number>;
  /** Findings learnt later about the first incident (a persistence probe's). */
  firstIncidentFindings?: Record<string, unknown>;
  /** Why the first incident's capture was not kept, as the flight recorder records it. */
  captureFailed?: string;
  /** An advisory finding, as a race-hunt driver records it. */
  advisory?: { advisory: string; affected: boolean; evidence: string };
  /** The plan's cell this run was (`hunt run --cell`), as run.json records it. */
  plan?: { id: string; cell: number; cells: number; name: string };
}

/** A run folder written the way the harness writes one, without a stack: for report, matrix and bundle tests. */
export async function writeFixtureRun(root: string, options: FixtureRunOptions): Promise<Run> {
  const target = options.target ?? { icinga: '2.13.6' };
  const run = await Run.create({
    name: options.scenario ?? 'reload-storm',
    scenario: options.scenario ?? 'reload-storm',
    params: options.params ?? {},
    seed: options.seed ?? 7,
    resultsDir: root,
  });
  await run.describe('target', target);
  await run.describe('limits', { steps: options.barriers.length, durationMs: null });
  if (options.plan) await run.describe('plan', options.plan);
  await run.describe('stack', {
    image: 'image' in target ? target.image : `handshake-hunter/icinga2:${target.icinga}`,
    icingaVersion: 'icinga' in target ? target.icinga : '2.15.0',
    opensslVersion: '3.0.20',
  });
  const swaps = options.swaps ?? 0;
  const failAt = options.failAfterSwaps ?? swaps;
  const swap = () =>
    run.history.record('icinga', 'disruption-started', { kind: 'context-swap', node: 'master2' });
  for (let i = 0; i < Math.min(failAt, swaps); i++) swap();
  // Wall clock in milliseconds: the failures come strictly after the swaps before them.
  await sleep(3);
  options.barriers.forEach((barrierMs, step) => {
    const master = step % 2 === 0 ? 'master1' : 'master2';
    run.history.record('reload', 'reload-started', { step, master, delayMs: 0 });
    run.history.record('reload', 'reload-finished', {
      step,
      master,
      barrierMs,
      reconnectMs: barrierMs + 200,
    });
    if (step % 10 === 0)
      run.history.record('observe', 'resources', {
        master,
        processes: [{ pid: 100, rssKb: 50_000 + step * (options.rssGrowthKb ?? 0) }],
      });
  });
  for (let i = 0; i < (options.tlsFailures ?? 0); i++)
    run.history.record('observe', 'log-match', {
      node: `node${i + 1}`,
      seq: i,
      line: `[2026-11-21 10:00:0${i % 10} +0000] critical/ApiListener: Client TLS handshake failed (from [::ffff:172.20.0.${10 + i}]:${40000 + i}): excessive message size`,
      before: [],
    });
  for (const [name, value] of Object.entries(options.measures ?? {}))
    run.history.record('measure', 'value', { name, value, unit: 'bytes' });
  if (options.firstIncidentFindings)
    run.history.record('observe', 'incident-finding', {
      incident: 1,
      findings: options.firstIncidentFindings,
    });
  if (options.captureFailed)
    run.history.record('capture', 'capture-failed', {
      incident: 1,
      node: 'node1',
      error: options.captureFailed,
    });
  await sleep(3);
  for (let i = failAt; i < swaps; i++) swap();
  if (options.advisory) run.history.record('jsonrpc', 'advisory', { node: 'master2', ...options.advisory });
  await run.finish({ status: 'passed', exitCode: 0, complete: true, summary: 'fixture' });
  return run;
}

/**
 * A stunnel-shaped run folder: `seconds` of steady load (100 completions/s, a log line per
 * request) with a frozen stretch from `stallFrom` for `stallFor` seconds (keep-alive served, new
 * connections and the log stopped), as the stunnel target and its load record them.
 */
export async function writeLoadFixtureRun(
  root: string,
  options: { version: string; seconds: number; stallFrom: number; stallFor: number },
): Promise<Run> {
  const run = await Run.create({
    name: 'stunnel-freeze',
    scenario: 'stunnel-freeze',
    params: { cause: 'log-sink' },
    seed: 7,
    resultsDir: root,
  });
  await run.describe('target', { stunnel: options.version });
  await run.describe('limits', { steps: 1, durationMs: null });
  await run.describe('stack', {
    image: `handshake-hunter/stunnel:${options.version}`,
    version: options.version,
    description: stunnelDescription(options.version, { debug: 7 }),
    settings: { debug: 7 },
  });
  // Times of a real minute: the history's own clock would put every event in the same millisecond.
  const start = Date.UTC(2026, 10, 30, 10);
  const lines: string[] = [];
  for (let s = 0; s < options.seconds; s++) {
    const frozen = s >= options.stallFrom && s < options.stallFrom + options.stallFor;
    const t = s * 1_000;
    const at = new Date(start + t).toISOString();
    const completed = frozen ? 50 : s === options.stallFrom + options.stallFor ? 250 : 100;
    const fields = {
      node: 'stunnel',
      offered: 100,
      completed,
      keepAliveCompleted: 50,
      freshCompleted: completed - 50,
      timeouts: frozen ? 50 : 0,
      resets: 0,
      errors: 0,
      dropped: 0,
      inFlight: 0,
      p50Ms: 2,
      p99Ms: 9,
      maxMs: 12,
    };
    lines.push(JSON.stringify({ t, at, source: 'load', type: 'second', ...fields }));
    lines.push(
      JSON.stringify({
        t: t + 1,
        at,
        source: 'log',
        type: 'rate',
        node: 'stunnel',
        lines: frozen ? 0 : 100,
        late: 0,
      }),
    );
  }
  await run.finish({ status: 'passed', exitCode: 0, complete: true, summary: 'fixture' });
  await appendFile(run.history.path, `${lines.join('\n')}\n`);
  return run;
}
