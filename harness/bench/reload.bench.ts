/**
 * npm run bench:reload — verified reloads per hour with 0, 200 and 1,000 simulated endpoints
 * (reload() barrier + every endpoint reconnected, as the storm does it), beside the bare rate
 * (SIGHUP -> new pid in the API, polled tightly) in the same run, on the same stack, and the
 * bare verified rate (the same, then the endpoint list polled until everyone is connected: what
 * the reload costs Icinga and the endpoints, without the harness).
 *
 * Cases are "<endpoints>[:<keys>]" (HH_BENCH_CASES); keys default to Icinga's rsa4096. The
 * master's own CPU time per verified reload (from its container's stats) is printed beside the
 * rate: with 200 endpoints most of it is 200 TLS handshakes, each with one signature by the
 * master's key, so the key type shows how much of the rate is Icinga's work, not the harness's.
 *
 * The run machinery's cost: storm rounds with the live pipeline (recorders, reactors, every
 * detector on the history, incident files) and without it, interleaved on the same stack
 * (HH_BENCH_ROUNDS pairs, default 3), and the history's bytes per reload. HH_BENCH_REPEATS (default
 * 1) measures that comparison so many times on the same stack and prints the on/off ratio's
 * minimum, median and maximum: one run of three rounds has swung between 0.94x and 0.98x.
 */

import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureEngine } from '../engine/docker-engine.ts';
import { writeFileAtomic } from '../fs-atomic.ts';
import { LiveDetection } from '../observe/detection.ts';
import { resultsDir } from '../paths.ts';
import { keySpecName, parseKeySpec, RSA_4096 } from '../pki/key-spec.ts';
import { silentProgress } from '../progress.ts';
import { Run } from '../run/run.ts';
import { percentile, ratio } from '../stats.ts';
import { icinga } from '../systems/icinga/icinga-system.ts';
import { reloadStorm } from '../systems/icinga/reload/reload-storm.ts';
import { IcingaStack, type StartedIcingaStack } from '../systems/icinga/stack/icinga-stack.ts';
import { StackObserver } from '../systems/icinga/stack-observer.ts';
import { bareSighupReload, bareVerifiedReload } from './bare-reload.ts';

const version = process.env.HH_BENCH_VERSION ?? '2.13.6';
const reloads = Number(process.env.HH_BENCH_RELOADS ?? 30);
const cases = (process.env.HH_BENCH_CASES ?? '0,200,200:ec-p256,1000').split(',').map((spec) => {
  const [size, keys] = spec.split(':');
  return { size: Number(size), keys: keys ? parseKeySpec(keys) : RSA_4096 };
});
const rounds = Number(process.env.HH_BENCH_ROUNDS ?? 3);
const repeats = Number(process.env.HH_BENCH_REPEATS ?? 1);
const { docker } = await ensureEngine(silentProgress);

/**
 * Verified reloads per hour of master1 with the live pipeline on and off, in interleaved rounds
 * (so a noisy neighbour hits both alike), and the history bytes each verified reload adds.
 */
async function pipelineCost(run: Run, stack: StartedIcingaStack) {
  const rates = { on: [] as number[], off: [] as number[] };
  // Where the pipeline's cost lands, per verified reload: the master's CPU and this process's.
  const cpu = { on: { master: 0, harness: 0, reloads: 0 }, off: { master: 0, harness: 0, reloads: 0 } };
  let bytes = 0;
  let reloadsOn = 0;
  for (let round = 0; round < rounds; round++) {
    for (const mode of ['on', 'off'] as const) {
      await stack.ready({ timeoutMs: 300_000 });
      await run.history.flushed();
      const sizeBefore = (await stat(run.history.path)).size;
      const detection = mode === 'on' ? LiveDetection.of(run, icinga.detectors) : undefined;
      const observer =
        mode === 'on' ? new StackObserver(stack, { resourceEveryMs: 10_000 }).start() : undefined;
      const masterBefore = await cpuSeconds(stack, 1);
      const harnessBefore = process.cpuUsage();
      const summary = await reloadStorm(stack, {
        count: reloads,
        targets: 'master1',
        reconnectDeadlineMs: 60_000,
      });
      const harnessUsed = process.cpuUsage(harnessBefore);
      cpu[mode].master += (await cpuSeconds(stack, 1)) - masterBefore;
      cpu[mode].harness += (harnessUsed.user + harnessUsed.system) / 1e6;
      cpu[mode].reloads += summary.verified;
      await observer?.stop();
      await detection?.stop();
      rates[mode].push((summary.verified * 3600_000) / summary.durationMs);
      if (mode === 'on') {
        await run.history.flushed();
        bytes += (await stat(run.history.path)).size - sizeBefore;
        reloadsOn += summary.verified;
      }
    }
  }
  const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
  const perReload = (side: { master: number; harness: number; reloads: number }) => ({
    masterCpuS: side.master / Math.max(1, side.reloads),
    harnessCpuS: side.harness / Math.max(1, side.reloads),
  });
  return {
    on: mean(rates.on),
    off: mean(rates.off),
    bytesPerReload: Math.round(bytes / Math.max(1, reloadsOn)),
    rates,
    cpuPerReload: { on: perReload(cpu.on), off: perReload(cpu.off) },
  };
}

/** CPU seconds the container has used so far. */
async function cpuSeconds(stack: StartedIcingaStack, master: 1 | 2): Promise<number> {
  const stats = await docker.getContainer(stack.master(master).container.getId()).stats({ stream: false });
  return stats.cpu_stats.cpu_usage.total_usage / 1e9;
}

/** Reloads per hour of master1 done `reload` times in a row. */
async function bareRate(stack: StartedIcingaStack, reload: typeof bareSighupReload): Promise<number> {
  const master = stack.master(1);
  const started = performance.now();
  for (let i = 0; i < reloads; i++) await reload(docker, master);
  return (reloads * 3600_000) / (performance.now() - started);
}

const report: Record<string, unknown> = { version, reloads };
for (const { size, keys } of cases) {
  const label = `${size}:${keySpecName(keys)}`;
  await using run = await Run.create({ name: `bench-reload-${size}` });
  await using stack = await IcingaStack.version(version)
    .masters(2)
    .withSimulatedEndpoints(size)
    .withKeys(keys)
    .start(run);
  await stack.ready({ timeoutMs: 300_000 });
  const bare = await bareRate(stack, bareSighupReload);
  await stack.ready({ timeoutMs: 300_000 });
  const bareVerified = await bareRate(stack, bareVerifiedReload);
  await stack.ready({ timeoutMs: 300_000 });
  const cpuBefore = await cpuSeconds(stack, 1);
  const summary = await reloadStorm(stack, {
    count: reloads,
    targets: 'master1',
    reconnectDeadlineMs: 60_000,
  });
  const masterCpuPerReload = (await cpuSeconds(stack, 1)) - cpuBefore;
  const verified = (summary.verified * 3600_000) / summary.durationMs;
  const pipelines = [];
  for (let repeat = 0; repeat < repeats; repeat++) pipelines.push(await pipelineCost(run, stack));
  const onOff = pipelines.map((pipeline) => pipeline.on / pipeline.off);
  report[label] = {
    barePerHour: Math.round(bare),
    bareVerifiedPerHour: Math.round(bareVerified),
    verifiedPerHour: Math.round(verified),
    master1CpuSecondsPerReload: masterCpuPerReload / Math.max(1, summary.verified),
    pipelines,
    onOff: { min: Math.min(...onOff), median: percentile(onOff, 50), max: Math.max(...onOff) },
    summary,
  };
  console.log(
    `${String(size).padStart(5)} simulated endpoints, ${keySpecName(keys).padEnd(7)}: verified ${Math.round(verified)}/h; ` +
      `bare SIGHUP->new pid ${Math.round(bare)}/h (verified/bare ${ratio(verified, bare)}); ` +
      `bare SIGHUP->all connected ${Math.round(bareVerified)}/h (verified/bare-verified ${ratio(verified, bareVerified)}, harness overhead ${Math.round((1 - verified / bareVerified) * 100)}%); ` +
      `master1 CPU ${(masterCpuPerReload / Math.max(1, summary.verified)).toFixed(2)} s per reload, timeouts ${summary.reconnectTimeouts}`,
  );
  for (const pipeline of pipelines)
    console.log(
      `      live pipeline on ${Math.round(pipeline.on)}/h vs off ${Math.round(pipeline.off)}/h (on/off ${ratio(pipeline.on, pipeline.off)}, ` +
        `${rounds} interleaved rounds of ${reloads}); history ${pipeline.bytesPerReload.toLocaleString('en')} bytes per reload; ` +
        `CPU per reload on/off: master1 ${pipeline.cpuPerReload.on.masterCpuS.toFixed(2)}/${pipeline.cpuPerReload.off.masterCpuS.toFixed(2)} s, ` +
        `harness ${(pipeline.cpuPerReload.on.harnessCpuS * 1000).toFixed(0)}/${(pipeline.cpuPerReload.off.harnessCpuS * 1000).toFixed(0)} ms`,
    );
  if (pipelines.length > 1)
    console.log(
      `      on/off over ${pipelines.length} runs: min ${Math.min(...onOff).toFixed(3)}, median ${percentile(onOff, 50).toFixed(3)}, max ${Math.max(...onOff).toFixed(3)}`,
    );
}
const out = join(resultsDir(), 'bench', `reload-${Date.now()}.json`);
await writeFileAtomic(out, `${JSON.stringify(report, null, 2)}\n`);
console.log(`written: ${out}`);
