/**
 * npm run bench:capture — the flight recorder's cost and speed, in one run on one stack:
 * verified reloads per hour of master1 with the recorder on and off (interleaved rounds, so a noisy
 * neighbour hits both; goal: at most 5% slower), and the time from an incident's window closing
 * to its pcapng files on disk (goal: under 15 s), for the canary's oversized handshake.
 */
import { join } from 'node:path';
import { FlightRecorder } from '../capture/flight-recorder.ts';
import { writeFileAtomic } from '../fs-atomic.ts';
import { LiveDetection } from '../observe/detection.ts';
import { resultsDir } from '../paths.ts';
import type { HistoryEvent } from '../run/history.ts';
import { Run } from '../run/run.ts';
import { ratio } from '../stats.ts';
import { icinga } from '../systems/icinga/icinga-system.ts';
import { reloadStorm } from '../systems/icinga/reload/reload-storm.ts';
import { IcingaStack } from '../systems/icinga/stack/icinga-stack.ts';
import { StackObserver } from '../systems/icinga/stack-observer.ts';
import { icingaVersionNumber } from '../systems/icinga/swarm/messages.ts';
import { Swarm } from '../systems/icinga/swarm/swarm.ts';

const version = process.env.HH_BENCH_VERSION ?? '2.13.6';
const endpoints = Number(process.env.HH_BENCH_ENDPOINTS ?? 100);
const reloads = Number(process.env.HH_BENCH_RELOADS ?? 20);
const rounds = Number(process.env.HH_BENCH_ROUNDS ?? 3);

await using run = await Run.create({ name: 'bench-capture' });
const detection = LiveDetection.of(run, icinga.detectors);
await using stack = await IcingaStack.version(version)
  .masters(2)
  .withSimulatedEndpoints(endpoints)
  .start(run);
await stack.ready({ timeoutMs: 300_000 });
const observer = new StackObserver(stack).start();

const rates = { on: [] as number[], off: [] as number[] };
for (let round = 0; round < rounds; round++) {
  for (const mode of ['on', 'off'] as const) {
    await stack.ready({ timeoutMs: 300_000 });
    const recorder =
      mode === 'on' ? await FlightRecorder.of(stack).ring({ fileMb: 16, files: 4 }).start() : undefined;
    const summary = await reloadStorm(stack, {
      count: reloads,
      targets: 'master1',
      reconnectDeadlineMs: 60_000,
    });
    await recorder?.stop();
    rates[mode].push((summary.verified * 3600_000) / summary.durationMs);
  }
}

// The canary against a recording stack: the incident, then its files once the window closed.
const recorder = await FlightRecorder.of(stack).window({ beforeMs: 10_000, afterMs: 5_000 }).start();
const kept = new Promise<HistoryEvent>((resolve) => {
  const unsubscribe = run.history.subscribe((event) => {
    if (event.type === 'capture-kept' || event.type === 'capture-failed') {
      unsubscribe();
      resolve(event);
    }
  });
});
const master = stack.master(1);
const canary = await Swarm.start({
  seed: run.seedFor('canary'),
  endpoints: [`sim-${endpoints}`],
  targets: [
    {
      name: 'master1',
      host: master.address,
      port: 5665,
      version: icingaVersionNumber((await master.api.icingaApplication()).version),
    },
  ],
  ca: stack.ca,
  faults: { [`sim-${endpoints}`]: { chainPadding: 160 } },
  events: run.history,
  keylog: run.keylog('swarm'),
});
const event = await Promise.race([
  kept,
  new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no capture within 120 s')), 120_000)),
]);
await canary.stop();
await recorder.stop();
await observer.stop();
await detection.stop();

const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
const on = mean(rates.on);
const off = mean(rates.off);
const report = { version, endpoints, reloads, rounds, rates, on, off, capture: event };
console.log(
  `${version}, 2 masters, ${endpoints} simulated endpoints, ${rounds} interleaved rounds of ${reloads} reloads of master1:\n` +
    `  verified reloads/h with the recorder ${Math.round(on)}, without ${Math.round(off)} (on/off ${ratio(on, off)}, goal >= 0.95x)\n` +
    `  canary: ${event.type} ${event.ms ?? '?'} ms after its window closed (goal < 15,000 ms), ${event.bytes ?? 0} bytes, ${event.segments ?? 0} ring files`,
);
const out = join(resultsDir(), 'bench', `capture-${Date.now()}.json`);
await writeFileAtomic(out, `${JSON.stringify(report, null, 2)}\n`);
console.log(`written: ${out}`);
