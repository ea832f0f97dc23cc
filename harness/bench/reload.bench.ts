/**
 * npm run bench:reload — verified reloads per hour with 0, 200 and 1,000 simulated endpoints
 * (reload() barrier + every endpoint reconnected, as the storm does it), beside the bare rate
 * (SIGHUP -> new pid in the API, polled tightly) in the same run, on the same stack.
 */
import { join } from 'node:path';
import { ensureEngine } from '../engine/docker-engine.ts';
import { writeFileAtomic } from '../fs-atomic.ts';
import { resultsDir } from '../paths.ts';
import { silentProgress } from '../progress.ts';
import { reloadStorm } from '../reload/reload-storm.ts';
import { IcingaStack, type StartedIcingaStack } from '../stack/icinga-stack.ts';
import { bareSighupReload } from './bare-reload.ts';
import { ratio } from './stats.ts';

const version = process.env.HH_BENCH_VERSION ?? '2.13.6';
const reloads = Number(process.env.HH_BENCH_RELOADS ?? 30);
const sizes = (process.env.HH_BENCH_SIZES ?? '0,200,1000').split(',').map(Number);
const { docker } = await ensureEngine(silentProgress);

async function bareRate(stack: StartedIcingaStack): Promise<number> {
  const master = stack.master(1);
  const started = performance.now();
  for (let i = 0; i < reloads; i++) await bareSighupReload(docker, master);
  return (reloads * 3600_000) / (performance.now() - started);
}

const report: Record<string, unknown> = { version, reloads };
for (const size of sizes) {
  await using stack = await IcingaStack.version(version)
    .masters(2)
    .withSimulatedEndpoints(size)
    .named(`bench-reload-${size}`)
    .start();
  await stack.ready({ timeoutMs: 300_000 });
  const bare = await bareRate(stack);
  await stack.ready({ timeoutMs: 300_000 });
  const summary = await reloadStorm(stack, {
    count: reloads,
    targets: 'master1',
    reconnectDeadlineMs: 60_000,
  });
  const verified = (summary.verified * 3600_000) / summary.durationMs;
  report[String(size)] = { barePerHour: Math.round(bare), verifiedPerHour: Math.round(verified), summary };
  console.log(
    `${String(size).padStart(5)} simulated endpoints: verified ${Math.round(verified)}/h, bare SIGHUP->new pid ${Math.round(bare)}/h, ` +
      `verified/bare ${ratio(verified, bare)} (harness overhead ${Math.round((1 - verified / bare) * 100)}%), timeouts ${summary.reconnectTimeouts}`,
  );
}
const out = join(resultsDir(), 'bench', `reload-${Date.now()}.json`);
await writeFileAtomic(out, `${JSON.stringify(report, null, 2)}\n`);
console.log(`written: ${out}`);
