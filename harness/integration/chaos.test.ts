import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
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
  t.ok(
    [0, 1].includes(result.code),
    `a verdict, not a harness error (exit ${result.code}): ${result.stderr.slice(-400)}`,
  );
  const { dir } = JSON.parse(result.stdout) as { dir: string };
  return { dir, code: result.code, events: await readHistory(join(dir, 'history.jsonl')) };
}

/** What a replay must repeat: which fault, on which node, after which anchor, at which offset. */
function faults(events: readonly HistoryEvent[]) {
  return events
    .filter((e) => e.type === 'nemesis-started' && e.nemesis !== 'cpu-starve')
    .map((e) => `${e.nemesis} on ${e.node}: ${e.anchor} #${e.anchorIndex} + ${e.offsetMs} ms`)
    .sort();
}

t.test(
  'handshake-chaos: every fault inside its window after its anchor; --replay repeats them',
  async (t) => {
    const first = await chaosRun(['handshake-chaos', ...ARGS]);
    const pauses = first.events.filter((e) => e.type === 'nemesis-started' && e.nemesis === 'pause');
    t.ok(pauses.length >= 2, `master1 was frozen after its reload signals (${pauses.length} times)`);
    const signals = first.events.filter((e) => e.type === 'reload-signalled' && e.master === 'master1');
    for (const pause of pauses) {
      const anchor = signals[Number(pause.anchorIndex) - 1] as HistoryEvent;
      t.equal(
        pause.anchorAt,
        anchor.at,
        `fault ${pause.fault}: anchored to master1's signal #${pause.anchorIndex}`,
      );
      t.ok(
        pause.t - anchor.t >= 300,
        `fault ${pause.fault}: ${(pause.t - anchor.t).toFixed(0)} ms after it (>= 300)`,
      );
      t.equal((Number(pause.anchorIndex) - 1) % 2, 0, 'every 2nd signal');
      const healed = first.events.find((e) => e.type === 'nemesis-healed' && e.fault === pause.fault);
      t.ok(
        healed && healed.t - pause.t >= 1000,
        `healed ${healed ? (healed.t - pause.t).toFixed(0) : '?'} ms later (>= 1000)`,
      );
    }
    const latencies = first.events.filter((e) => e.type === 'nemesis-started' && e.nemesis === 'toxic');
    t.ok(latencies.length >= 1, `latency on master2 after its new listener (${latencies.length} times)`);
    t.match(await readFile(join(first.dir, 'report.md'), 'utf8'), /## Faults injected/);

    const replay = await chaosRun(['--replay', first.dir]);
    const manifest = JSON.parse(await readFile(join(replay.dir, 'run.json'), 'utf8'));
    t.same(manifest.replayOf, { dir: first.dir, anchorsFollowed: true }, 'the replay names its original');
    t.same(
      faults(replay.events),
      faults(first.events),
      'the same faults after the same anchors at the same offsets',
    );
    t.equal(await runObjects(docker, results), 0, 'nothing left running');
  },
);
