import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t, { type Test } from 'tap';
import { systems } from '../cli/systems.ts';
import { writeReport } from '../report/report-writer.ts';
import { readHistory } from '../run/history-reader.ts';
import { Run } from '../run/run.ts';
import type { StartedTarget, TargetNode } from '../seam/target.ts';
import { eventually } from '../test-kits/eventually.ts';
import { Chaos } from './chaos.ts';
import { ChaosPlan } from './chaos-plan.ts';
import type { NemesisSpec } from './nemesis.ts';
import { nemesisList } from './nemesis-registry.ts';

/** A target of one pausable node that records what was done to it; no container. */
function fakeTarget(run: Run, calls: string[]): StartedTarget {
  const node = {
    name: 'master1',
    role: 'master',
    address: '10.0.0.2',
    capture: undefined,
    pause: async () => void calls.push('pause'),
    unpause: async () => void calls.push('unpause'),
  } as unknown as TargetNode;
  return {
    system: 'fake',
    run,
    nodes: [node],
    watched: [node],
    node: () => node,
    clients: () => ({ connected: 0, total: 0, label: 'clients' }),
    connectionIn: () => undefined,
    stop: async () => undefined,
    [Symbol.asyncDispose]: async () => undefined,
  };
}

async function chaosRun(t: Test, specs: NemesisSpec[], seed = 3, replay?: ChaosPlan) {
  const run = await Run.create({ name: 'chaos', seed, resultsDir: t.testdir() });
  const calls: string[] = [];
  const chaos = Chaos.start(fakeTarget(run, calls), specs, (part) => run.random(part), { replay });
  return { run, calls, chaos };
}

/** Paces a test by the chaos itself: returns once no fault is armed or on (deadline 10 s). */
function settled(chaos: Chaos): Promise<boolean> {
  return eventually('every fault healed', () => !chaos.busy);
}

const PAUSE_AFTER_SIGNAL: NemesisSpec = {
  nemesis: 'pause',
  node: 'master1',
  schedule: { after: 'reload-signalled', offsetMs: 20, forMs: 30, every: 2, count: 2 },
};

t.test(
  'a fault N ms after every k-th reload signal of its node, for M ms, as often as counted',
  async (t) => {
    const { run, calls, chaos } = await chaosRun(t, [PAUSE_AFTER_SIGNAL]);
    // Late is judged against timers armed beside the anchor: a busy machine delays both alike,
    // so a fault 100 ms past its moment (or a heal past its window) shows on any machine.
    const startedByMoment: number[] = [];
    const callsByWindowEnd: number[] = [];
    for (let step = 1; step <= 5; step++) {
      run.history.record('reload', 'reload-signalled', { step, master: 'master1', node: 'master1' });
      run.history.record('reload', 'reload-signalled', { step, master: 'master2', node: 'master2' });
      await Promise.all([
        sleep(20 + 100).then(() => startedByMoment.push(chaos.count)),
        sleep(20 + 30 + 100).then(() => callsByWindowEnd.push(calls.length)),
      ]);
      await settled(chaos);
    }
    t.same(startedByMoment, [1, 1, 2, 2, 2], 'each fault had started 100 ms after its moment');
    t.same(callsByWindowEnd, [2, 2, 4, 4, 4], 'and was healed 100 ms after its window');
    await chaos.stop();
    await run.finish({ status: 'passed', exitCode: 0, complete: true });
    t.same(calls, ['pause', 'unpause', 'pause', 'unpause']);
    const events = await readHistory(run.history.path);
    const signals = events.filter((e) => e.type === 'reload-signalled' && e.master === 'master1');
    const started = events.filter((e) => e.type === 'nemesis-started');
    t.same(
      started.map((e) => [e.fault, e.anchorAt]),
      [
        [1, signals[0]?.at],
        [2, signals[2]?.at],
      ],
      'the 1st and 3rd signal, then the count is spent',
    );
    for (const event of started) {
      const anchor = signals.find((s) => s.at === event.anchorAt) as { t: number };
      // Never early; late only by what a busy machine's timers lag (a second is far past that).
      const after = event.t - anchor.t;
      t.ok(after >= 20 && after < 20 + 1_000, `fault ${event.fault} ${after.toFixed(1)} ms after its signal`);
    }
    t.equal(events.filter((e) => e.type === 'nemesis-healed').length, 2);
    const windows = events.filter((e) => e.source === 'nemesis' && e.type.startsWith('disruption-'));
    t.same(
      windows.map((e) => `${e.type} ${e.node} ${e.kind}`),
      [
        'disruption-started master1 pause',
        'disruption-ended master1 pause',
        'disruption-started master1 pause',
        'disruption-ended master1 pause',
      ],
      'each fault is a disruption window of its node',
    );
    const { summary } = await writeReport(run.dir, systems);
    t.match(summary.faults, {
      count: 2,
      samples: [
        {
          fault: 1,
          nemesis: 'pause',
          node: 'master1',
          anchor: 'reload-signalled',
          offsetMs: 20,
          forMs: 30,
          healedAt: String,
        },
        { fault: 2 },
      ],
    });
    t.match(
      await readFile(join(run.dir, 'report.md'), 'utf8'),
      /## Faults injected[\s\S]*\| 1 \| pause \| master1 \| reload-signalled \| 20 ms \| 30 ms/,
    );
    t.same(summary.incidents, [], 'a fault inside its own window is no incident');
  },
);

t.test('seeded moments repeat with the seed and differ with another', async (t) => {
  const spec: NemesisSpec = {
    nemesis: 'pause',
    node: 'master1',
    schedule: { seeded: true, withinMs: 200, forMs: 5, count: 3 },
  };
  const offsets = async (seed: number) => {
    const { run, chaos } = await chaosRun(t, [spec], seed);
    // All three moments are within 200 ms; a loaded machine may be late, never early.
    await eventually('three faults', () => chaos.count >= 3, { timeoutMs: 5_000 });
    await settled(chaos);
    await chaos.stop();
    await run.finish({ status: 'passed', exitCode: 0, complete: true });
    return (await readHistory(run.history.path))
      .filter((e) => e.type === 'nemesis-started')
      .map((e) => e.offsetMs);
  };
  const first = await offsets(11);
  t.equal(first.length, 3);
  t.same(await offsets(11), first, 'the same seed: the same offsets (--replay)');
  t.notSame(await offsets(12), first, 'another seed: other offsets');
});

t.test('atMs acts once at its moment; with everyMs, count times, never early', async (t) => {
  const { run, calls, chaos } = await chaosRun(t, [
    { nemesis: 'pause', node: 'master1', schedule: { atMs: 40, forMs: 5, everyMs: 60, count: 3 } },
  ]);
  const started = performance.now();
  await eventually('three faults', () => chaos.count >= 3, { timeoutMs: 5_000 });
  await settled(chaos);
  await chaos.stop();
  await run.finish({ status: 'passed', exitCode: 0, complete: true });
  const events = (await readHistory(run.history.path)).filter((e) => e.type === 'nemesis-started');
  t.same(
    events.map((e) => e.offsetMs),
    [40, 100, 160],
  );
  t.ok(performance.now() - started >= 160, 'the last one no sooner than 160 ms in');
  t.same(calls, ['pause', 'unpause', 'pause', 'unpause', 'pause', 'unpause']);
});

t.test('stop() heals a fault that is on', async (t) => {
  const { run, calls, chaos } = await chaosRun(t, [
    { nemesis: 'pause', node: 'master1', schedule: { after: 'listener-up', offsetMs: 0, forMs: 60_000 } },
  ]);
  run.history.record('observe', 'listener-up', { node: 'master1' });
  await eventually('the fault on', () => calls.length > 0);
  t.same(calls, ['pause']);
  await chaos.stop();
  t.same(calls, ['pause', 'unpause']);
});

t.test('from: the first anchor a fault acts on, then every k-th', async (t) => {
  const spec: NemesisSpec = {
    ...PAUSE_AFTER_SIGNAL,
    schedule: { after: 'reload-signalled', offsetMs: 0, forMs: 10, from: 2, every: 2, count: 2 },
  };
  const { run, chaos } = await chaosRun(t, [spec]);
  for (let step = 1; step <= 5; step++) {
    run.history.record('reload', 'reload-signalled', { step, master: 'master1', node: 'master1' });
    await settled(chaos);
  }
  await chaos.stop();
  await run.finish({ status: 'passed', exitCode: 0, complete: true });
  const started = (await readHistory(run.history.path)).filter((e) => e.type === 'nemesis-started');
  t.same(
    started.map((e) => e.anchorIndex),
    [2, 4],
    'the 2nd and 4th signal',
  );
});

t.test(
  'an anchor passed while a fault is on is recorded; a replay fires after the same anchors at any pace',
  async (t) => {
    // Paced by the chaos, not the clock: 'while on' signals again as soon as the fault is on (it
    // lasts 10 s, healed by stop()), 'after' once it has healed (50 ms).
    async function signals(pace: 'while on' | 'after', replay?: ChaosPlan, count = 5) {
      const forMs = pace === 'while on' ? 10_000 : 50;
      const spec: NemesisSpec = {
        ...PAUSE_AFTER_SIGNAL,
        schedule: { after: 'reload-signalled', offsetMs: 0, forMs, count: 10 },
      };
      const { run, chaos } = await chaosRun(t, [spec], 3, replay);
      for (let step = 1; step <= count; step++) {
        run.history.record('reload', 'reload-signalled', { step, master: 'master1', node: 'master1' });
        if (pace === 'after') await settled(chaos);
        else if (chaos.busy) await eventually('the fault on', () => chaos.count >= 1);
      }
      await chaos.stop();
      await run.finish({ status: 'passed', exitCode: 0, complete: true });
      const events = await readHistory(run.history.path);
      const indexes = (type: string) => events.filter((e) => e.type === type).map((e) => e.anchorIndex);
      // Each run's folder goes with the next chaosRun (one testdir per test): its report first.
      const { summary } = await writeReport(run.dir, systems);
      return {
        summary,
        events,
        fired: indexes('nemesis-started'),
        skipped: indexes('nemesis-skipped'),
        why: events.filter((e) => e.type === 'nemesis-skipped').map((e) => String(e.why)),
      };
    }
    // Signals while the 1st fault is on: each one is passed, and says why.
    const original = await signals('while on');
    t.same(original.fired, [1]);
    t.same(original.skipped, [2, 3, 4, 5], 'every signal while it was on');
    t.match(
      original.events.find((e) => e.type === 'nemesis-skipped'),
      {
        spec: '0.0',
        nemesis: 'pause',
        node: 'master1',
        anchor: 'reload-signalled',
        why: 'its last fault is still on',
      },
    );
    // Nothing on at a signal: the live rule fires five times.
    const live = await signals('after');
    t.same(live.fired, [1, 2, 3, 4, 5], 'with each fault healed first, the live rule fires at every signal');
    const plan = await ChaosPlan.fromHistory(original.events);
    const replay = await signals('after', plan, 7);
    t.same(
      replay.fired,
      [...original.fired, 6, 7],
      'the replay fires after the anchors the original fired after; past its last one, live again',
    );
    t.same(replay.skipped, original.skipped, 'and passes the ones it passed');
    // The original fired at anchors 1 and 2; a replay whose fault is still on at 2 cannot, and says so.
    const fired = (anchorIndex: number) => ({
      t: 0,
      at: '',
      source: 'nemesis',
      type: 'nemesis-started',
      spec: '0.0',
      anchorIndex,
    });
    const behind = await signals('while on', await ChaosPlan.fromHistory([fired(1), fired(2)]), 2);
    t.same(behind.fired, [1]);
    t.match(behind.why, [/the replayed run fired here, but its last fault is still on: the replay diverges/]);
    t.equal(original.summary.faults.skipped, original.skipped.length, 'the report counts the anchors passed');
  },
);

t.test(
  'a plan from a history: none without numbered specs, else fire, pass or live per anchor',
  async (t) => {
    const event = { t: 1, at: '', source: 'nemesis', type: 'nemesis-started', anchorIndex: 1, fault: 1 };
    t.equal(await ChaosPlan.fromHistory([event]), undefined);
    const plan = await ChaosPlan.fromHistory([
      { ...event, spec: '0.1' },
      { ...event, type: 'nemesis-failed', anchorIndex: 3, spec: '0.1' },
    ]);
    t.same(
      [1, 2, 3, 4].map((anchor) => plan?.step('0.1', anchor)),
      ['fire', 'pass', 'fire', 'live'],
      'fired, passed, fired (a failed start took its anchor), then past what the original decided',
    );
    t.equal(plan?.step('0.0', 1), 'live', 'a spec the original never decided on');
  },
);

t.test('bad specs are refused before anything acts', async (t) => {
  const run = await Run.create({ name: 'chaos', seed: 1, resultsDir: t.testdir() });
  const target = fakeTarget(run, []);
  const random = (part: string) => run.random(part);
  const start = (spec: Partial<NemesisSpec>) => () =>
    Chaos.start(target, [{ ...PAUSE_AFTER_SIGNAL, ...spec } as NemesisSpec], random);
  t.throws(start({ nemesis: 'earthquake' }), {
    code: 'HH_USAGE',
    message:
      /Unknown nemesis "earthquake". Known: connection-flood, cpu-starve, hung-worker, pause, process-stop, reconnect-burst, signal, toxic, trigger-file/,
  });
  t.throws(start({ node: 'master9' }), { code: 'HH_USAGE', message: /no node "master9"/ });
  t.throws(start({ schedule: { after: 'reload-signalled', offsetMs: 0, forMs: 3_600_000 } }), {
    code: 'HH_USAGE',
    message: /forMs is 0 to 600000/,
  });
  const anchored = (anchors: Record<string, string>) => () =>
    Chaos.start(target, [PAUSE_AFTER_SIGNAL], random, { anchors });
  t.throws(anchored({ 'listener-up': 'the listener is up' }), {
    code: 'HH_USAGE',
    message: /after is one of its system's anchors \(listener-up\), not "reload-signalled"/,
  });
  t.throws(anchored({}), {
    code: 'HH_USAGE',
    message:
      /its system writes no anchor events, so "after: reload-signalled" never comes: time it with atMs or seeded/,
  });
  t.doesNotThrow(() =>
    Chaos.start(target, [PAUSE_AFTER_SIGNAL], random, {
      anchors: { 'reload-signalled': 'the signal went' },
    }).stop(),
  );
  t.throws(start({ nemesis: 'cpu-starve', attributes: { cores: 0 } }), {
    code: 'HH_USAGE',
    message: /cores/,
  });
  t.throws(start({ nemesis: 'toxic', attributes: {} }), {
    code: 'HH_USAGE',
    message: /"type" names a toxic/,
  });
  t.throws(start({ nemesis: 'toxic', attributes: { type: 'earthquake' } }), {
    message: /unknown toxic "earthquake"/,
  });
  t.throws(start({ nemesis: 'toxic', attributes: { type: 'latency' } }), {
    code: 'HH_USAGE',
    message: /master1 has no chaos proxy in front of it/,
  });
  t.throws(start({ nemesis: 'cpu-starve' }), {
    code: 'HH_USAGE',
    message: /master1's CPU cannot be limited/,
  });
  t.throws(start({ schedule: { atMs: 1_000, forMs: 10, everyMs: 3_600_000, count: 100 } }), {
    code: 'HH_USAGE',
    message: /keep atMs \+ \(count - 1\) \* everyMs within 24 h/,
  });
  t.throws(start({ schedule: { atMs: 0, forMs: 500, everyMs: 500, count: 3 } }), {
    code: 'HH_USAGE',
    message: /forMs \(500\) must be shorter than everyMs \(500\)/,
  });
  t.throws(start({ nemesis: 'connection-flood', attributes: {} }), { code: 'HH_USAGE', message: /"port"/ });
  t.throws(start({ nemesis: 'process-stop', attributes: { process: 'rm -rf' } }), { code: 'HH_USAGE' });
  t.throws(start({ schedule: { after: 'reload-signalled', offsetMs: 0, forMs: 10, from: 0 } }), {
    message: /from is a whole number from 1/,
  });
  t.throws(start({ nemesis: 'reconnect-burst' }), {
    code: 'HH_USAGE',
    message: /fake runs no simulated clients to burst/,
  });
  t.throws(start({ nemesis: 'hung-worker', attributes: { process: 'a b' } }), { code: 'HH_USAGE' });
  t.throws(start({ nemesis: 'signal', attributes: { signal: 'SIGKILL' } }), {
    code: 'HH_USAGE',
    message: /SIGHUP/,
  });
});

t.test('every file in nemeses/ is in the registry', async (t) => {
  const files = (await readdir(join(import.meta.dirname, 'nemeses')))
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts'))
    .map((file) => file.replace(/\.ts$/, ''));
  t.same(nemesisList.map((nemesis) => nemesis.name).sort(), files.sort());
});

t.test('hung-worker stops the oldest worker under the supervisor, and lets it go after', async (t) => {
  const run = await Run.create({ name: 'chaos', seed: 1, resultsDir: t.testdir() });
  const commands: string[] = [];
  // The umbrella (10), its old worker (20, up 500 s), the new one (30, just forked), the old
  // worker's spawn helper (40): only 20 is the one a reload waits for.
  const table = '   10     1   900\n   20    10   500\n   30    10     1\n   40    20   500\n';
  const node = {
    name: 'master1',
    program: 'icinga2',
    exec: async (command: string[]) => {
      commands.push(command.join(' '));
      return { exitCode: 0, output: command[0] === 'ps' ? table : '' };
    },
  } as unknown as TargetNode;
  const target = { ...fakeTarget(run, []), node: () => node, nodes: [node] };
  const hung = nemesisList.find((n) => n.name === 'hung-worker');
  if (!hung) throw new Error('hung-worker is not registered');
  t.equal(hung.check?.(target, node, hung.parse({})), undefined, "the node's own program by default");
  const nameless = { ...node, program: undefined } as unknown as TargetNode;
  t.match(
    hung.check?.(target, nameless, hung.parse({})),
    /names no main program: give hung-worker a "process"/,
  );
  t.equal(hung.check?.(target, nameless, hung.parse({ process: 'worker' })), undefined, 'or the one named');
  const heal = await hung.start({ target, node, random: run.random('x'), fault: 1 }, hung.parse({}));
  t.same(commands.slice(1), ['kill -STOP 20']);
  await heal();
  t.same(commands.slice(2), ['kill -CONT 20']);
  const lone = { ...node, exec: async () => ({ exitCode: 1, output: '' }) } as unknown as TargetNode;
  await t.rejects(hung.start({ target, node: lone, random: run.random('x'), fault: 2 }, hung.parse({})), {
    code: 'HH_USAGE',
    message: /no worker of icinga2/,
  });
  await run.finish({ status: 'passed', exitCode: 0, complete: true });
});

t.test('reconnect-burst asks the target to cut its clients of the node, and records how many', async (t) => {
  const run = await Run.create({ name: 'chaos', seed: 1, resultsDir: t.testdir() });
  const asked: string[] = [];
  const target = {
    ...fakeTarget(run, []),
    reconnectClients: (node: string) => {
      asked.push(node);
      return 7;
    },
  };
  const burst = nemesisList.find((n) => n.name === 'reconnect-burst');
  if (!burst) throw new Error('reconnect-burst is not registered');
  t.equal(burst.check?.(target, target.nodes[0] as TargetNode, {}), undefined);
  const heal = await burst.start(
    { target, node: target.nodes[0] as TargetNode, random: run.random('x'), fault: 1 },
    {},
  );
  await heal();
  await run.finish({ status: 'passed', exitCode: 0, complete: true });
  t.same(asked, ['master1']);
  const events = await readHistory(run.history.path);
  t.match(
    events.find((e) => e.type === 'burst'),
    { node: 'master1', connections: 7 },
  );
});

t.test('a replay whose original passed every anchor injects nothing, and its report says so', async (t) => {
  const passed = {
    t: 0,
    at: '',
    source: 'nemesis',
    type: 'nemesis-skipped',
    spec: '0.0',
    anchorIndex: 1,
    why: 'its last fault is still on',
  };
  const { run, calls, chaos } = await chaosRun(
    t,
    [PAUSE_AFTER_SIGNAL],
    3,
    await ChaosPlan.fromHistory([passed]),
  );
  run.history.record('reload', 'reload-signalled', { step: 1, master: 'master1', node: 'master1' });
  // The decision is taken as the anchor is written: the pass is in the history at once.
  t.notOk(chaos.busy, 'nothing armed');
  await chaos.stop();
  await run.finish({ status: 'passed', exitCode: 0, complete: true });
  t.same(calls, [], 'no fault');
  const { reportPath } = await writeReport(run.dir, systems);
  t.match(
    await readFile(reportPath, 'utf8'),
    /## Faults injected\s+None: 1 anchor\(s\) passed without a fault/,
  );
});
