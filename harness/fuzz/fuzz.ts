/**
 * npm run fuzz: every parser property of properties.ts against FUZZ_RUNS (default 1,000,000)
 * generated inputs each. Each property runs in a worker thread with a memory ceiling (unbounded
 * growth ends it: ERR_WORKER_OUT_OF_MEMORY) and a watchdog (no progress for 120 s: a hang).
 * The runs go in batches of 10,000 with seeds derived from FUZZ_SEED, so a failure names the
 * batch seed that reproduces it.
 */
import { availableParallelism } from 'node:os';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import fc from 'fast-check';
import { allProperties } from './properties.ts';

const BATCH = 10_000;
const HANG_MS = 120_000;
const HEAP_LIMIT_MB = 512;

interface Job {
  index: number;
  runs: number;
  seed: number;
}
type Message =
  | { kind: 'progress'; done: number; heapMb: number }
  | { kind: 'done'; done: number; heapMb: number }
  | { kind: 'failed'; done: number; seed: number; report: string };

if (!isMainThread) {
  const { index, runs, seed } = workerData as Job;
  const { property } = allProperties[index] as (typeof allProperties)[number];
  let done = 0;
  let heapMb = 0;
  while (done < runs) {
    const batchSeed = seed + done / BATCH;
    const numRuns = Math.min(BATCH, runs - done);
    const details = fc.check(property, { numRuns, seed: batchSeed });
    done += details.numRuns;
    heapMb = Math.max(heapMb, process.memoryUsage().heapUsed / 2 ** 20);
    if (details.failed) {
      parentPort?.postMessage({
        kind: 'failed',
        done,
        seed: batchSeed,
        report: fc.defaultReportMessage(details) ?? '',
      });
      process.exit(0);
    }
    parentPort?.postMessage({ kind: 'progress', done, heapMb });
  }
  parentPort?.postMessage({ kind: 'done', done, heapMb });
} else {
  const runs = Number(process.env.FUZZ_RUNS ?? 1_000_000);
  const seed = Number(process.env.FUZZ_SEED ?? 20261121);
  if (!Number.isSafeInteger(runs) || runs < 1 || !Number.isSafeInteger(seed)) {
    console.error('FUZZ_RUNS must be a positive whole number and FUZZ_SEED a whole number.');
    process.exit(2);
  }
  console.error(
    `fuzz: ${allProperties.length} properties x ${runs.toLocaleString('en')} inputs (seed ${seed})`,
  );
  const results: Array<{ name: string; inputs: number; seconds: number; heapMb: number; verdict: string }> =
    [];
  const queue = allProperties.map((_, index) => index);
  const parallel = Math.max(1, Math.min(2, availableParallelism()));
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      for (let index = queue.shift(); index !== undefined; index = queue.shift())
        results[index] = await runOne({ index, runs, seed });
    }),
  );
  const width = Math.max(...results.map((r) => r.name.length));
  for (const r of results)
    console.log(
      `${r.name.padEnd(width)}  ${r.inputs.toLocaleString('en').padStart(10)} inputs  ${r.seconds.toFixed(1).padStart(6)} s  heap max ${r.heapMb.toFixed(0).padStart(4)} MB  ${r.verdict}`,
    );
  const failed = results.filter((r) => r.verdict !== 'ok');
  console.log(failed.length === 0 ? 'fuzz: all passed' : `fuzz: ${failed.length} failed`);
  process.exit(failed.length === 0 ? 0 : 1);
}

async function runOne(job: Job) {
  const name = allProperties[job.index]?.name ?? String(job.index);
  const started = performance.now();
  const worker = new Worker(new URL(import.meta.url), {
    workerData: job,
    resourceLimits: { maxOldGenerationSizeMb: HEAP_LIMIT_MB },
  });
  let done = 0;
  let heapMb = 0;
  let verdict = 'ok';
  await new Promise<void>((resolve) => {
    let watchdog = setTimeout(hang, HANG_MS);
    function hang() {
      verdict = `HANG: no progress for ${HANG_MS / 1000} s after ${done.toLocaleString('en')} inputs`;
      void worker.terminate();
    }
    worker.on('message', (message: Message) => {
      clearTimeout(watchdog);
      watchdog = setTimeout(hang, HANG_MS);
      done = message.done;
      if (message.kind === 'failed') verdict = `FAILED (batch seed ${message.seed}):\n${message.report}`;
      else heapMb = message.heapMb;
      if (message.kind === 'progress' && done % (BATCH * 20) === 0)
        console.error(`  ${name}: ${done.toLocaleString('en')}`);
    });
    worker.on('error', (error) => {
      verdict = `CRASHED: ${(error as NodeJS.ErrnoException).code ?? ''} ${error.message}`;
    });
    worker.on('exit', () => {
      clearTimeout(watchdog);
      resolve();
    });
  });
  if (verdict === 'ok' && done < job.runs) verdict = `STOPPED after ${done} inputs`;
  return { name, inputs: done, seconds: (performance.now() - started) / 1000, heapMb, verdict };
}
