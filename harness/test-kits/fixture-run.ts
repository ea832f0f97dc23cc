import { Run } from '../run/run.ts';

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
  await run.describe('limits', { reloads: options.barriers.length, durationMs: null });
  await run.describe('stack', {
    image: 'image' in target ? target.image : `handshake-hunter/icinga2:${target.icinga}`,
    icingaVersion: 'icinga' in target ? target.icinga : '2.15.0',
    opensslVersion: '3.0.20',
  });
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
  await run.finish({ status: 'passed', exitCode: 0, complete: true, summary: 'fixture' });
  return run;
}
