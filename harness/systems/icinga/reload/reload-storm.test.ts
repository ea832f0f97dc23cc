import { setTimeout as sleep } from 'node:timers/promises';
import t, { type Test } from 'tap';
import { ErrorCodes, HuntError } from '../../../errors.ts';
import { derivedRandom } from '../../../random.ts';
import type { HistoryEvent } from '../../../run/history.ts';
import { Run } from '../../../run/run.ts';
import { eventually, untilAborted, within } from '../../../test-kits/eventually.ts';
import type { ReloadOutcome, StartedIcingaNode } from '../stack/icinga-node.ts';
import type { StartedIcingaStack } from '../stack/icinga-stack.ts';
import { reloadStorm, type StormOptions, storm } from './reload-storm.ts';
import { delayBefore } from './schedule.ts';

type ReloadOptions = NonNullable<Parameters<StartedIcingaNode['reload']>[0]>;
type Reconnects = StartedIcingaStack['reconnected'];

/** A master without a container: it counts its reloads and answers as `behave` says. */
class FakeMaster {
  readonly calls: ReloadOptions[] = [];
  /** performance.now() of each reload call. */
  readonly calledAt: number[] = [];
  running = true;
  isRunningAsked = 0;
  readonly name: string;
  private readonly behave: (options: ReloadOptions, call: number) => Promise<void>;

  constructor(
    name: string,
    behave: (options: ReloadOptions, call: number) => Promise<void> = async () => {},
  ) {
    this.name = name;
    this.behave = behave;
  }

  async reload(options: ReloadOptions): Promise<ReloadOutcome> {
    const call = this.calls.length;
    this.calls.push(options);
    this.calledAt.push(performance.now());
    await this.behave(options, call);
    options.onSignalled?.();
    // Pids that tell the reloads apart: master1's 1001, 1002, ...; master2's 2001, ...
    const base = Number(this.name.slice(-1)) * 1000;
    return {
      node: this.name,
      via: options.via ?? 'signal',
      oldPid: base + call,
      newPid: base + call + 1,
      ms: 7,
    };
  }

  async isRunning(): Promise<boolean> {
    this.isRunningAsked++;
    return this.running;
  }
}

/** What the storm takes from a stack: the run, its history, the masters, the reconnect checks. */
function fakeStack(
  run: Run,
  masters: FakeMaster[],
  options: { reconnected?: Reconnects; missing?: string[] } = {},
) {
  const asked = { reconnected: [] as string[][], missingConnections: 0, mastersAt: [] as number[] };
  const stack = {
    run,
    history: run.history,
    get masters() {
      asked.mastersAt.push(performance.now());
      return masters;
    },
    node(name: string) {
      const node = masters.find((master) => master.name === name);
      if (!node) throw new Error(`no node ${name}`);
      return node;
    },
    async reconnected(reloads: Array<{ master: string; since: number }>, opts?: Parameters<Reconnects>[1]) {
      asked.reconnected.push(reloads.map((reload) => reload.master));
      return options.reconnected ? options.reconnected(reloads, opts) : { ms: 3 };
    },
    async missingConnections() {
      asked.missingConnections++;
      return options.missing ?? [];
    },
  };
  return { stack: stack as unknown as StartedIcingaStack, asked };
}

async function stormRun(t: Test, seed = 7) {
  const run = await Run.create({ name: 'storm-unit', seed, resultsDir: t.testdir() });
  const events: HistoryEvent[] = [];
  run.history.subscribe((event) => {
    if (event.source === 'reload') events.push(event);
  });
  t.teardown(() => run.history.close());
  return { run, events };
}

/** "type step master" of each reload event, the storm's own summary line left out. */
const story = (events: HistoryEvent[]) =>
  events
    .filter((e) => e.type !== 'storm-finished')
    .map((e) => [e.type, e.step, e.master].filter((part) => part !== undefined).join(' '));

t.test('targets both: each step reloads the two masters at once, then checks reconnects once', async (t) => {
  const { run, events } = await stormRun(t);
  // Each reload waits until both are under way: a storm reloading one after the other fails here.
  let inFlight = 0;
  const together = async () => {
    inFlight++;
    await eventually('both reloads in flight', () => inFlight % 2 === 0, { timeoutMs: 5_000 });
  };
  const masters = [new FakeMaster('master1', together), new FakeMaster('master2', together)];
  const { stack, asked } = fakeStack(run, masters);
  const summary = await reloadStorm(stack, { count: 2, targets: 'both' });

  // Which signal goes first is the fakes' business; that both reloads began before either is not.
  t.same(
    story(events).map((line) => line.replace(/^reload-signalled (\d) master\d$/, 'reload-signalled $1')),
    [
      'reload-started 0 master1',
      'reload-started 0 master2',
      'reload-signalled 0',
      'reload-signalled 0',
      'reload-finished 0 master1',
      'reload-finished 0 master2',
      'step-finished 0',
      'reload-started 1 master1',
      'reload-started 1 master2',
      'reload-signalled 1',
      'reload-signalled 1',
      'reload-finished 1 master1',
      'reload-finished 1 master2',
      'step-finished 1',
    ],
  );
  t.same(asked.reconnected, [
    ['master1', 'master2'],
    ['master1', 'master2'],
  ]);
  t.match(summary, {
    steps: 2,
    reloads: 4,
    verified: 4,
    failed: 0,
    reconnectTimeouts: 0,
    mastersDown: [],
  });
  t.equal(summary.stoppedEarly, undefined, 'it did every step');
  const finished = events.filter((e) => e.type === 'reload-finished');
  t.same(
    finished.map((e) => e.newPid),
    [1001, 2001, 1002, 2002],
    'each with the new worker its reload reported',
  );
  t.ok(
    finished.every((e) => e.barrierMs === 7 && typeof e.reconnectMs === 'number' && Array.isArray(e.missing)),
    'and the barrier and reconnect durations',
  );
  t.match(events.at(-1), { type: 'storm-finished', steps: 2, reloads: 4, verified: 4, failed: 0 });
});

t.test('targets master1 or master2: only that master is reloaded, every step', async (t) => {
  for (const target of ['master1', 'master2'] as const) {
    const { run, events } = await stormRun(t);
    const masters = [new FakeMaster('master1'), new FakeMaster('master2')];
    const { stack, asked } = fakeStack(run, masters);
    const summary = await reloadStorm(stack, { count: 3, targets: target });
    const other = target === 'master1' ? 'master2' : 'master1';
    const byName = (name: string) => masters.find((master) => master.name === name) as FakeMaster;
    t.equal(byName(target).calls.length, 3, `${target} reloaded at every step`);
    t.equal(byName(other).calls.length, 0, `${other} left alone`);
    t.same(
      events.filter((e) => e.type === 'reload-started').map((e) => e.master),
      [target, target, target],
    );
    t.same(asked.reconnected, [[target], [target], [target]], 'the reconnect check waits for it alone');
    t.match(summary, { steps: 3, reloads: 3, verified: 3 });
  }
});

t.test('targets staggered: the second master starts staggerMs after the first', async (t) => {
  const { run, events } = await stormRun(t);
  const masters = [new FakeMaster('master1'), new FakeMaster('master2')];
  const { stack, asked } = fakeStack(run, masters);
  const summary = await reloadStorm(stack, { count: 1, targets: 'staggered', staggerMs: 300 });
  t.same(story(events), [
    'reload-started 0 master1',
    'reload-signalled 0 master1',
    'reload-started 0 master2',
    'reload-signalled 0 master2',
    'reload-finished 0 master1',
    'reload-finished 0 master2',
    'step-finished 0',
  ]);
  // Counted from the storm's first look at the masters, before any of the step's waits: a timer
  // never fires before its delay (the 30 ms spare allow for the event loop's cached clock).
  const start = asked.mastersAt[0] as number;
  const waited = (masters[1]?.calledAt[0] as number) - start;
  t.ok(waited >= 270, `master2 reloaded ${waited.toFixed(0)} ms into the step, not before 300`);
  t.match(summary, { steps: 1, reloads: 2, verified: 2 });
});

t.test('stage reloads deploy new content each step unless told to deploy the same', async (t) => {
  for (const stageChanges of [undefined, false]) {
    const { run, events } = await stormRun(t);
    const master = new FakeMaster('master1');
    const { stack } = fakeStack(run, [master]);
    await reloadStorm(stack, { count: 3, targets: 'master1', via: 'stage', stageChanges });
    t.same(
      master.calls.map((call) => call.stageContent),
      stageChanges === false
        ? [undefined, undefined, undefined]
        : [0, 1, 2].map((step) => `const HandshakeHunterDeploy = ${step}\n`),
      `stageChanges ${stageChanges}`,
    );
    t.ok(
      master.calls.every((call) => call.via === 'stage' && call.timeoutMs === 60_000),
      'asked by stage with the 60 s barrier',
    );
    t.same(
      events.filter((e) => e.type === 'reload-started').map((e) => e.via),
      ['stage', 'stage', 'stage'],
    );
  }
});

t.test('the waits between steps follow the schedule, the jitter drawn from the run seed', async (t) => {
  const schedule = { kind: 'jitter', everyMs: 30, jitterMs: 20 } as const;
  const random = derivedRandom(11, 'reload-storm');
  const expected = [0, 1, 2, 3].map((step) => Math.round(delayBefore(schedule, step, random)));
  const { run, events } = await stormRun(t, 11);
  const { stack } = fakeStack(run, [new FakeMaster('master1'), new FakeMaster('master2')]);
  await reloadStorm(stack, { count: 4, schedule });
  const delays = events.filter((e) => e.type === 'reload-started').map((e) => e.delayMs);
  t.same(
    delays,
    expected.flatMap((delay) => [delay, delay]),
    'both masters of a step carry its wait',
  );
  t.ok(new Set(expected.slice(1)).size > 1, `the seed's waits differ (${expected.join(', ')})`);

  const fixed = await stormRun(t);
  const { stack: second } = fakeStack(fixed.run, [new FakeMaster('master1')]);
  await reloadStorm(second, { count: 3, targets: 'master1', schedule: { kind: 'fixed', everyMs: 15 } });
  t.same(
    fixed.events.filter((e) => e.type === 'reload-started').map((e) => e.delayMs),
    [0, 15, 15],
  );
});

t.test('a reload that fails on a running master is recorded and the master stays in rotation', async (t) => {
  const { run, events } = await stormRun(t);
  const flaky = new FakeMaster('master2', async (_options, call) => {
    if (call === 0) throw new Error('HTTP 500 from restart-process');
  });
  const masters = [new FakeMaster('master1'), flaky];
  const { stack, asked } = fakeStack(run, masters);
  const summary = await reloadStorm(stack, { count: 3, targets: 'both' });
  t.match(
    events.find((e) => e.type === 'reload-failed'),
    { step: 0, master: 'master2', error: 'HTTP 500 from restart-process', masterDown: false },
  );
  t.equal(events.filter((e) => e.type === 'reload-failed').length, 1);
  t.same(
    asked.reconnected,
    [['master1'], ['master1', 'master2'], ['master1', 'master2']],
    'the reconnect check waits only for the reloads that verified',
  );
  t.equal(flaky.calls.length, 3, 'master2 is reloaded again at the next steps');
  t.match(summary, { steps: 3, reloads: 6, verified: 5, failed: 1, mastersDown: [] });
});

t.test('a master that is down after a failed reload leaves the rotation', async (t) => {
  const { run, events } = await stormRun(t);
  const dying = new FakeMaster('master2', async () => {
    dying.running = false;
    throw new Error('exited during a reload');
  });
  const master1 = new FakeMaster('master1');
  const { stack } = fakeStack(run, [master1, dying]);
  const summary = await reloadStorm(stack, { count: 3, targets: 'both' });
  t.match(
    events.find((e) => e.type === 'reload-failed'),
    {
      step: 0,
      master: 'master2',
      error: 'exited during a reload',
      masterDown: true,
    },
  );
  t.equal(dying.calls.length, 1, 'never reloaded again');
  t.equal(master1.calls.length, 3, 'the other master carries on');
  t.match(summary, { steps: 3, reloads: 4, verified: 3, failed: 1, mastersDown: ['master2'] });
  t.equal(summary.stoppedEarly, undefined);
});

t.test('with no master left the storm stops early and says so', async (t) => {
  const { run, events } = await stormRun(t);
  const only = new FakeMaster('master1', async () => {
    only.running = false;
    throw new Error('gone');
  });
  const { stack, asked } = fakeStack(run, [only, new FakeMaster('master2')]);
  const summary = await reloadStorm(stack, { count: 5, targets: 'master1' });
  t.match(summary, {
    steps: 1,
    reloads: 1,
    failed: 1,
    mastersDown: ['master1'],
    stoppedEarly: 'no-master-left',
  });
  t.same(asked.reconnected, [], 'no reconnect check when nothing reloaded');
  t.match(events.at(-1), { type: 'storm-finished', stoppedEarly: 'no-master-left' });
});

t.test('endpoints missing past the deadline are a reconnect-timeout, named by the error', async (t) => {
  const { run, events } = await stormRun(t);
  const missing = Array.from({ length: 250 }, (_, i) => `master1 does not see sim-${i + 1}`);
  const { stack, asked } = fakeStack(run, [new FakeMaster('master1'), new FakeMaster('master2')], {
    reconnected: async (_reloads, options) => {
      t.equal(options?.timeoutMs, 1_234, 'the reconnect deadline is the one asked for');
      throw new HuntError(ErrorCodes.STACK_NOT_READY, 'not ready', { details: { missing } });
    },
    missing: ['never asked'],
  });
  const summary = await reloadStorm(stack, { count: 1, reconnectDeadlineMs: 1_234 });
  t.equal(asked.missingConnections, 0, "the error's list is used, the API not asked again");
  const finished = events.filter((e) => e.type === 'reload-finished');
  t.equal(finished.length, 2, 'the reloads themselves verified');
  for (const event of finished) {
    t.equal(event.reconnectMs, undefined, `${event.master}: no reconnect time`);
    t.same(event.missing, missing.slice(0, 20), `${event.master}: the first 20 missing`);
  }
  t.match(
    events.find((e) => e.type === 'reconnect-timeout'),
    { step: 0, deadlineMs: 1_234 },
  );
  t.same(events.find((e) => e.type === 'reconnect-timeout')?.missing, missing.slice(0, 200));
  t.match(summary, { steps: 1, verified: 2, failed: 0, reconnectTimeouts: 1 });
});

t.test('a reconnect check that fails otherwise asks the API who is missing', async (t) => {
  const { run, events } = await stormRun(t);
  const { stack, asked } = fakeStack(run, [new FakeMaster('master1')], {
    reconnected: async () => {
      throw new Error('socket hang up');
    },
    missing: ['master1 does not see agent-1'],
  });
  const summary = await reloadStorm(stack, { count: 1, targets: 'master1' });
  t.equal(asked.missingConnections, 1);
  t.same(events.find((e) => e.type === 'reconnect-timeout')?.missing, ['master1 does not see agent-1']);
  t.equal(summary.reconnectTimeouts, 1);
});

t.test('an abort during the stagger pause: the second master is never reloaded', async (t) => {
  const { run, events } = await stormRun(t);
  const interrupt = new AbortController();
  const master2 = new FakeMaster('master2');
  // master1's reload waits for the signal, as a real one polls it.
  const master1 = new FakeMaster('master1', async (options) => {
    options.onSignalled?.();
    await untilAborted(options.signal);
    options.signal?.throwIfAborted();
  });
  const { stack } = fakeStack(run, [master1, master2]);
  const storming = reloadStorm(stack, {
    count: 2,
    targets: 'staggered',
    staggerMs: 60_000,
    signal: interrupt.signal,
  });
  await eventually('master1 signalled', () => events.some((e) => e.type === 'reload-signalled'));
  interrupt.abort('SIGINT');
  const summary = await within(5_000, storming);
  t.match(summary, { reloads: 1, stoppedEarly: 'aborted' });
  t.equal(master2.calls.length, 0, 'no SIGHUP for master2 after the interrupt');
  t.same(story(events), ['reload-started 0 master1', 'reload-signalled 0 master1']);
});

t.test('an abort while a reload waits for its worker ends the storm within the step', async (t) => {
  const { run, events } = await stormRun(t);
  const interrupt = new AbortController();
  // master2's new worker never comes; it waits for the signal the way a real reload polls it.
  const stuck = new FakeMaster('master2', async (options) => {
    options.onSignalled?.();
    await untilAborted(options.signal);
    options.signal?.throwIfAborted();
  });
  const { stack, asked } = fakeStack(run, [new FakeMaster('master1'), stuck], {
    reconnected: async (_reloads, options) => {
      options?.signal?.throwIfAborted();
      return { ms: 1 };
    },
  });
  const storming = reloadStorm(stack, { count: 5, targets: 'both', signal: interrupt.signal });
  await eventually('master2 signalled', () =>
    events.some((e) => e.type === 'reload-signalled' && e.master === 'master2'),
  );
  interrupt.abort('SIGINT');
  const summary = await within(5_000, storming);

  t.match(summary, {
    steps: 0,
    reloads: 2,
    verified: 0,
    failed: 0,
    reconnectTimeouts: 0,
    stoppedEarly: 'aborted',
  });
  t.equal(stuck.calls.length, 1, 'no new step started');
  t.match(
    events.find((e) => e.type === 'reload-finished'),
    {
      master: 'master1',
      newPid: 1001,
      barrierMs: 7,
      interrupted: true,
    },
  );
  t.equal(
    events.find((e) => e.type === 'reload-finished')?.reconnectMs,
    undefined,
    'reconnects not measured',
  );
  t.notOk(
    events.some((e) => e.type === 'reload-finished' && e.master === 'master2'),
    'the reload cut short is left unended',
  );
  t.notOk(
    events.some((e) => ['reload-failed', 'reconnect-timeout', 'step-finished'].includes(e.type)),
    'an interrupt is no failure, no timeout and no finished step',
  );
  t.equal(stuck.isRunningAsked, 0, 'nobody asked whether master2 is down');
  t.equal(asked.missingConnections, 0, 'nor the API who is missing');
  t.match(events.at(-1), { type: 'storm-finished', stoppedEarly: 'aborted' });
});

t.test('an abort during the reconnect wait records the new workers as interrupted', async (t) => {
  const { run, events } = await stormRun(t);
  const interrupt = new AbortController();
  let waiting = false;
  const { stack, asked } = fakeStack(run, [new FakeMaster('master1'), new FakeMaster('master2')], {
    reconnected: async (_reloads, options) => {
      waiting = true;
      // Endpoints that never come back: only the signal ends this wait.
      await untilAborted(options?.signal);
      throw options?.signal?.reason;
    },
  });
  const storming = reloadStorm(stack, { count: 5, signal: interrupt.signal, reconnectDeadlineMs: 600_000 });
  await eventually('the reconnect wait', () => waiting);
  interrupt.abort('SIGTERM');
  const summary = await within(5_000, storming);
  t.same(
    events.filter((e) => e.type === 'reload-finished').map((e) => [e.master, e.interrupted, e.reconnectMs]),
    [
      ['master1', true, undefined],
      ['master2', true, undefined],
    ],
  );
  t.equal(asked.missingConnections, 0);
  t.notOk(events.some((e) => e.type === 'reconnect-timeout'));
  t.match(summary, { steps: 0, reloads: 2, verified: 0, reconnectTimeouts: 0, stoppedEarly: 'aborted' });
});

t.test('an abort during the wait between steps ends the storm without another reload', async (t) => {
  const { run, events } = await stormRun(t);
  const interrupt = new AbortController();
  const master = new FakeMaster('master1');
  const { stack } = fakeStack(run, [master]);
  // 30 s between steps: only the abort can end this storm within the test's 5 s deadline.
  const storming = reloadStorm(stack, {
    count: 3,
    targets: 'master1',
    schedule: { kind: 'fixed', everyMs: 30_000 },
    signal: interrupt.signal,
  });
  await eventually('the first step', () => events.some((e) => e.type === 'step-finished'));
  interrupt.abort('SIGINT');
  const summary = await within(5_000, storming);
  t.equal(master.calls.length, 1);
  t.match(summary, { steps: 1, reloads: 1, verified: 1, stoppedEarly: 'aborted' });
});

t.test('an aborted signal or a spent duration starts no reload at all', async (t) => {
  for (const [limits, why] of [
    [{ signal: AbortSignal.abort('SIGINT') }, 'aborted'],
    [{ maxDurationMs: 0 }, 'duration'],
  ] as Array<[Partial<StormOptions>, string]>) {
    const { run, events } = await stormRun(t);
    const master = new FakeMaster('master1');
    const { stack } = fakeStack(run, [master]);
    const summary = await reloadStorm(stack, { count: 3, targets: 'master1', ...limits });
    t.equal(master.calls.length, 0, why);
    t.match(summary, { steps: 0, reloads: 0, stoppedEarly: why });
    t.same(story(events), []);
    t.match(events.at(-1), { type: 'storm-finished', stoppedEarly: why });
  }
});

t.test('the duration ends the storm between steps', async (t) => {
  const { run } = await stormRun(t);
  const master = new FakeMaster('master1');
  const { stack } = fakeStack(run, [master]);
  const startedAt = Date.now();
  const summary = await reloadStorm(stack, {
    count: 10,
    targets: 'master1',
    maxDurationMs: 50,
    // The first step lasts until the duration is spent (wall clock, as the storm counts it).
    onStep: async () => {
      await eventually('50 ms spent', () => Date.now() >= startedAt + 50);
    },
  });
  t.equal(master.calls.length, 1);
  t.match(summary, { steps: 1, stoppedEarly: 'duration' });
});

t.test('onStep hears each step with its results and is awaited before the next', async (t) => {
  const { run, events } = await stormRun(t);
  const heard: Array<[number, Array<{ master: string; ok: boolean; barrierMs?: number }>]> = [];
  const { stack } = fakeStack(run, [new FakeMaster('master1'), new FakeMaster('master2')]);
  await reloadStorm(stack, {
    count: 2,
    onStep: async (step, results) => {
      heard.push([step, results.map(({ master, ok, barrierMs }) => ({ master, ok, barrierMs }))]);
      // A 5 ms timer against the storm's 0 ms one: unawaited, the next step would come first.
      await sleep(5);
      run.history.record('reload', 'on-step-done', { step });
    },
  });
  t.same(heard, [
    [
      0,
      [
        { master: 'master1', ok: true, barrierMs: 7 },
        { master: 'master2', ok: true, barrierMs: 7 },
      ],
    ],
    [
      1,
      [
        { master: 'master1', ok: true, barrierMs: 7 },
        { master: 'master2', ok: true, barrierMs: 7 },
      ],
    ],
  ]);
  const order = story(events).filter(
    (line) => !line.startsWith('reload-signalled') && !line.startsWith('reload-finished'),
  );
  t.same(order, [
    'reload-started 0 master1',
    'reload-started 0 master2',
    'step-finished 0',
    'on-step-done 0',
    'reload-started 1 master1',
    'reload-started 1 master2',
    'step-finished 1',
    'on-step-done 1',
  ]);
});

t.test(
  'storm() spreads the run limit over the masters it reloads and takes its signal and duration',
  async (t) => {
    const cases: Array<[Parameters<typeof storm>[2], number, number]> = [
      [{ targets: 'both' }, 5, 3],
      [{ targets: 'staggered', staggerMs: 0 }, 4, 2],
      [{ targets: 'master2' }, 5, 5],
      [{ targets: 'both' }, 0, 1],
    ];
    for (const [options, steps, expected] of cases) {
      const { run } = await stormRun(t);
      const { stack } = fakeStack(run, [new FakeMaster('master1'), new FakeMaster('master2')]);
      const summary = await storm(
        { limits: { steps }, signal: new AbortController().signal },
        stack,
        options,
      );
      t.equal(summary.steps, expected, `${steps} reloads over ${options?.targets}: ${expected} steps`);
    }
    const { run } = await stormRun(t);
    const { stack } = fakeStack(run, [new FakeMaster('master1'), new FakeMaster('master2')]);
    const spent = await storm(
      { limits: { steps: 10, durationMs: 0 }, signal: new AbortController().signal },
      stack,
    );
    t.equal(spent.stoppedEarly, 'duration');
    const stopped = await storm({ limits: { steps: 10 }, signal: AbortSignal.abort('SIGINT') }, stack);
    t.equal(stopped.stoppedEarly, 'aborted');
  },
);
