import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { ensureEngine } from '../engine/docker-engine.ts';
import { silentProgress } from '../progress.ts';
import type { HistoryEvent } from '../run/history.ts';
import { readHistory } from '../run/history-reader.ts';
import { hunt } from './cli.ts';
import { runObjects } from './leftovers.ts';

// handshake-chaos on a real stack: faults land where their schedule says, relative to the
// reloads, and --replay repeats them.
const { docker } = await ensureEngine(silentProgress);
const results = t.testdir();
const ARGS = [
  '--reloads',
  '12',
  '--param',
  'endpoints=20',
  '--param',
  'every=2',
  '--param',
  'pause=1000',
  '--seed',
  '7',
];

async function chaosRun(args: string[]): Promise<{ dir: string; code: number; events: HistoryEvent[] }> {
  const result = await hunt(['run', ...args, '--results', results, '--json']);
  // handshake-chaos expects no incident: what the harness does on purpose is never reported as a fault.
  t.equal(result.code, 0, `passed, no incident: ${result.stderr.slice(-400)}`);
  const { dir } = JSON.parse(result.stdout) as { dir: string };
  return { dir, code: result.code, events: await readHistory(join(dir, 'history.jsonl')) };
}

/**
 * What a replay must repeat: which fault, on which node, after which anchor, at which offset.
 * Faults drawn from the seed (cpu-starve, anchored to the start) are compared apart: how many of
 * them a run reaches depends on how long it lasts.
 */
function faults(events: readonly HistoryEvent[]) {
  return events
    .filter((e) => e.type === 'nemesis-started' && e.anchor !== 'start')
    .map((e) => `${e.nemesis} on ${e.node}: ${e.anchor} #${e.anchorIndex} + ${e.offsetMs} ms`)
    .sort();
}

/** The seeded faults' offsets from the start, in order. */
function seededOffsets(events: readonly HistoryEvent[]): number[] {
  return events
    .filter((e) => e.type === 'nemesis-started' && e.anchor === 'start')
    .map((e) => Number(e.offsetMs))
    .sort((a, b) => a - b);
}

/** How late a fault may start or end on a busy 2-core machine (a docker pause, a proxy call). */
const LATE_MS = 3_000;

/** Every fault started within its window after its anchor, and healed when its time was up. */
function checkWindows(t: Test, events: readonly HistoryEvent[]): void {
  for (const fault of events.filter((e) => e.type === 'nemesis-started')) {
    const label = `fault ${fault.fault} (${fault.nemesis} on ${fault.node})`;
    const offset = Number(fault.offsetMs);
    if (fault.anchor !== 'start') {
      const anchor = events.find(
        (e) => e.type === fault.anchor && (e.master ?? e.node) === fault.node && e.at === fault.anchorAt,
      );
      if (!anchor) {
        t.fail(`${label}: its anchor ${fault.anchor} at ${fault.anchorAt} is not in the history`);
        continue;
      }
      const after = fault.t - anchor.t;
      t.ok(
        after >= offset && after <= offset + LATE_MS,
        `${label}: ${after.toFixed(0)} ms after its ${fault.anchor} (window ${offset}..${offset + LATE_MS})`,
      );
    } else t.ok(offset >= 0 && offset <= 120_000, `${label}: drawn ${offset} ms into the run`);
    const healed = events.find((e) => e.type === 'nemesis-healed' && e.fault === fault.fault);
    const lasted = healed ? healed.t - fault.t : Number.NaN;
    const forMs = Number(fault.forMs);
    t.ok(
      lasted >= forMs && lasted <= forMs + LATE_MS,
      `${label}: healed ${lasted.toFixed(0)} ms later (window ${forMs}..${forMs + LATE_MS})`,
    );
  }
}

t.test(
  'handshake-chaos: every fault inside its window after its anchor; --replay repeats them',
  async (t) => {
    const first = await chaosRun(['handshake-chaos', ...ARGS]);
    const started = (nemesis: string) =>
      first.events.filter((e) => e.type === 'nemesis-started' && e.nemesis === nemesis);
    const pauses = started('pause');
    t.ok(pauses.length >= 2, `master1 was frozen after its reload signals (${pauses.length} times)`);
    for (const pause of pauses)
      t.equal((Number(pause.anchorIndex) - 1) % 2, 0, `fault ${pause.fault}: every 2nd signal`);
    t.ok(
      started('toxic').length >= 1,
      `latency on master2 after its new listener (${started('toxic').length} times)`,
    );
    t.ok(
      started('reconnect-burst').length >= 1,
      `reconnect bursts on master2 (${started('reconnect-burst').length})`,
    );
    checkWindows(t, first.events);
    t.match(await readFile(join(first.dir, 'report.md'), 'utf8'), /## Faults injected/);

    const replay = await chaosRun(['--replay', first.dir]);
    const manifest = JSON.parse(await readFile(join(replay.dir, 'run.json'), 'utf8'));
    t.same(manifest.replayOf, { dir: first.dir, anchorsFollowed: true }, 'the replay names its original');
    t.same(
      faults(replay.events),
      faults(first.events),
      'the same faults after the same anchors at the same offsets',
    );
    const [shorter, longer] = [seededOffsets(first.events), seededOffsets(replay.events)].sort(
      (a, b) => a.length - b.length,
    );
    t.same(
      shorter,
      longer?.slice(0, shorter?.length),
      'the seeded faults at the same moments, as far as both ran',
    );
    checkWindows(t, replay.events);
    t.equal(await runObjects(docker, results), 0, 'nothing left running');
  },
);
