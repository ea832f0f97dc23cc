/**
 * npm run bench:stack — the stack's costs beside their references, in one run:
 *  - time to ready for 2 masters + 2 agents and 2 masters + 10 agents, cold (empty key cache)
 *    and warm (keys cached);
 *  - the reload barrier (reload() + ready()) over 50 reloads, interleaved with the same SIGHUP
 *    timed bare (docker kill -> new pid in /v1/status/IcingaApplication, tight polling).
 * Absolute times on a shared 2-core machine are noise; the ratios are the result.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureEngine } from '../engine/docker-engine.ts';
import { writeFileAtomic } from '../fs-atomic.ts';
import { resultsDir } from '../paths.ts';
import { silentProgress } from '../progress.ts';
import { Run } from '../run/run.ts';
import { ratio, summarize } from '../stats.ts';
import { IcingaStack } from '../systems/icinga/stack/icinga-stack.ts';
import { bareSighupReload } from './bare-reload.ts';

const { docker } = await ensureEngine(silentProgress);

const version = process.env.HH_BENCH_VERSION ?? '2.13.6';
const reloads = Number(process.env.HH_BENCH_RELOADS ?? 50);
const report: Record<string, unknown> = { version, reloads, startedAt: new Date().toISOString() };

async function timeToReady(
  agents: number,
  keyCache: string,
): Promise<{ startMs: number; readyMs: number; totalMs: number }> {
  const started = performance.now();
  await using run = await Run.create({ name: 'bench-stack' });
  const stack = await IcingaStack.version(version)
    .masters(2)
    .agents(agents)
    .withKeyCache(keyCache)
    .start(run);
  const startMs = performance.now() - started;
  try {
    await stack.ready({ timeoutMs: 120_000 });
    const totalMs = performance.now() - started;
    return {
      startMs: Math.round(startMs),
      readyMs: Math.round(totalMs - startMs),
      totalMs: Math.round(totalMs),
    };
  } finally {
    await stack.stop();
  }
}

const cache = await mkdtemp(join(tmpdir(), 'hh-bench-keys-'));
try {
  const ready: Record<string, unknown> = {};
  for (const agents of [2, 10]) {
    await rm(cache, { recursive: true, force: true });
    ready[`2m+${agents}a cold`] = await timeToReady(agents, cache);
    ready[`2m+${agents}a warm`] = await timeToReady(agents, cache);
  }
  report.timeToReady = ready;
  console.log(`time to ready (Icinga ${version}, RSA 4096 keys):`);
  for (const [name, value] of Object.entries(ready)) {
    const { startMs, readyMs, totalMs } = value as { startMs: number; readyMs: number; totalMs: number };
    console.log(
      `  ${name.padEnd(14)} start ${String(startMs).padStart(6)} ms  + ready ${String(readyMs).padStart(6)} ms  = ${totalMs} ms`,
    );
  }

  await using run = await Run.create({ name: 'bench-reload' });
  await using stack = await IcingaStack.version(version).masters(2).agents(2).withKeyCache(cache).start(run);
  await stack.ready();
  const barrier: number[] = [];
  const barrierOnly: number[] = [];
  const bare: number[] = [];
  for (let i = 0; i < reloads; i++) {
    // Interleaved, so drift on the shared machine hits both sides alike.
    const started = performance.now();
    const outcome = await stack.master(1).reload();
    await stack.ready({ timeoutMs: 60_000 });
    barrier.push(performance.now() - started);
    barrierOnly.push(outcome.ms);
    bare.push(await bareSighupReload(docker, stack.master(1)));
    await stack.ready({ timeoutMs: 60_000 });
  }
  const b = summarize(barrier.map(Math.round));
  const o = summarize(barrierOnly);
  const r = summarize(bare.map(Math.round));
  report.reload = { barrierWithReady: b, barrier: o, bare: r };
  console.log(`reload of master1, ${reloads} each, interleaved:`);
  console.log(`  bare SIGHUP -> new pid          p50 ${r.p50} ms  p95 ${r.p95} ms`);
  console.log(
    `  reload() barrier                p50 ${o.p50} ms  p95 ${o.p95} ms   (${ratio(o.p50, r.p50)} bare p50)`,
  );
  console.log(
    `  reload() + ready() (all conn.)  p50 ${b.p50} ms  p95 ${b.p95} ms   (${ratio(b.p50, r.p50)} bare p50)`,
  );
} finally {
  await rm(cache, { recursive: true, force: true });
}
const out = join(resultsDir(), 'bench', `stack-${Date.now()}.json`);
await writeFileAtomic(out, `${JSON.stringify(report, null, 2)}\n`);
console.log(`written: ${out}`);
