import t, { type Test } from 'tap';
import { ErrorCodes, HuntError } from '../../../errors.ts';
import type { HistoryEvent } from '../../../run/history.ts';
import { Run } from '../../../run/run.ts';
import { eventually, untilAborted, within } from '../../../test-kits/eventually.ts';
import { IcingaApiError } from '../api/icinga-api.ts';
import type { ReloadOutcome, StartedIcingaNode } from '../stack/icinga-node.ts';
import type { StartedIcingaStack } from '../stack/icinga-stack.ts';
import {
  DIRECTOR_FILE,
  DIRECTOR_PACKAGE,
  type DirectorDeployOptions,
  deployLikeDirector,
} from './director-deploy.ts';

type ReloadOptions = NonNullable<Parameters<StartedIcingaNode['reload']>[0]>;
type Reconnects = StartedIcingaStack['reconnected'];
type Package = { name: string; stages: string[]; 'active-stage': string };

/** A master without a container: a worker (pid, start time) and the few API calls a deploy makes. */
class FakeMaster {
  readonly name: string;
  pid: number;
  programStart = 1_000;
  running = true;
  /** How many of the next icingaApplication() calls fail (a busy API). */
  unanswered = 0;
  readonly reloads: ReloadOptions[] = [];
  /** Thrown by the next reloads, in order, before they succeed again. */
  readonly reloadErrors: Error[] = [];
  packageList: Package[] | Error = [];
  readonly deleted: string[] = [];
  readonly undeletable = new Set<string>();
  /** Between the deploy and the new worker: a reload that takes its time. */
  hold: (options: ReloadOptions) => Promise<void> = async () => {};
  /** Runs when this master deployed new content: the zone config synced to the other one. */
  onNewContent: () => void = () => {};
  private content: string | undefined;

  constructor(name: string, pid: number) {
    this.name = name;
    this.pid = pid;
  }

  readonly api = {
    icingaApplication: async () => {
      if (this.unanswered > 0) {
        this.unanswered--;
        throw new Error('connect ECONNREFUSED');
      }
      return { pid: this.pid, program_start: this.programStart, version: 'r2.14.2', node_name: this.name };
    },
    packages: async () => {
      if (this.packageList instanceof Error) throw this.packageList;
      return this.packageList;
    },
    deleteStage: async (pkg: string, stage: string) => {
      if (this.undeletable.has(stage)) throw new Error('HTTP 500');
      this.deleted.push(`${pkg}/${stage}`);
    },
  };

  async reload(options: ReloadOptions): Promise<ReloadOutcome> {
    this.reloads.push(options);
    const error = this.reloadErrors.shift();
    if (error) throw error;
    options.onSignalled?.();
    await this.hold(options);
    const oldPid = this.pid;
    this.pid++;
    const content = options.stage?.files[DIRECTOR_FILE];
    if (content !== this.content) {
      this.content = content;
      this.onNewContent();
    }
    return { node: this.name, via: 'stage', oldPid, newPid: this.pid, ms: 9 };
  }

  async isRunning(): Promise<boolean> {
    return this.running;
  }
}

/** Two masters, master2 reloading whenever master1 deploys new content (the config sync). */
function cluster(run: Run, options: { reconnected?: Reconnects; missing?: string[] | Error } = {}) {
  const master1 = new FakeMaster('master1', 1000);
  const master2 = new FakeMaster('master2', 2000);
  master1.onNewContent = () => {
    master2.pid++;
  };
  const asked = { reconnected: [] as string[][], missingConnections: 0 };
  const stack = {
    run,
    history: run.history,
    masters: [master1, master2],
    async reconnected(reloads: Array<{ master: string; since: number }>, opts?: Parameters<Reconnects>[1]) {
      asked.reconnected.push(reloads.map((reload) => reload.master));
      return options.reconnected ? options.reconnected(reloads, opts) : { ms: 2 };
    },
    async missingConnections() {
      asked.missingConnections++;
      if (options.missing instanceof Error) throw options.missing;
      return options.missing ?? [];
    },
  };
  return { stack: stack as unknown as StartedIcingaStack, master1, master2, asked };
}

async function deployRun(t: Test) {
  const run = await Run.create({ name: 'director-unit', seed: 5, resultsDir: t.testdir() });
  const events: HistoryEvent[] = [];
  run.history.subscribe((event) => {
    if (event.source === 'reload' || event.source === 'director') events.push(event);
  });
  t.teardown(() => run.history.close());
  return { run, events };
}

// A short reload deadline: a deploy that waits for a sync it should not fails in seconds, not in a minute.
const base: DirectorDeployOptions = {
  configMaster: 'master1',
  deploys: 1,
  everyMs: 0,
  changeEvery: 1,
  reloadDeadlineMs: 2_000,
};

/** "type step master" of each event, the closing summary left out. */
const story = (events: HistoryEvent[]) =>
  events
    .filter((e) => e.type !== 'deploys-finished')
    .map((e) => [e.type, e.step, e.master].filter((part) => part !== undefined).join(' '));

t.test('a config master that is no master, or a deploy count out of bounds, is a usage error', async (t) => {
  const { run, events } = await deployRun(t);
  const { stack, master1 } = cluster(run);
  await t.rejects(deployLikeDirector(stack, { ...base, configMaster: 'agent-1' }), {
    code: ErrorCodes.USAGE,
    message: 'Director deploys: agent-1 is not a master.',
  });
  for (const deploys of [0, 10_001, 2.5])
    await t.rejects(deployLikeDirector(stack, { ...base, deploys }), {
      code: ErrorCodes.USAGE,
      message: `Director deploys: 1 to 10000 deploys, not ${deploys}.`,
    });
  t.equal(master1.reloads.length, 0, 'nothing deployed');
  t.same(events, [], 'nothing recorded');
});

t.test('each deploy reloads the config master, and the synced master when the content changed', async (t) => {
  const { run, events } = await deployRun(t);
  const { stack, master1, master2, asked } = cluster(run);
  const summary = await deployLikeDirector(stack, { ...base, deploys: 3, changeEvery: 2 });

  t.same(story(events), [
    'reload-started 1 master1',
    'reload-signalled 1 master1',
    'reload-finished 1 master1',
    'reload-started 1 master2',
    'reload-signalled 1 master2',
    'reload-finished 1 master2',
    'deploy-finished 1',
    'reload-started 2 master1',
    'reload-signalled 2 master1',
    'reload-finished 2 master1',
    'deploy-finished 2',
    'reload-started 3 master1',
    'reload-signalled 3 master1',
    'reload-finished 3 master1',
    'reload-started 3 master2',
    'reload-signalled 3 master2',
    'reload-finished 3 master2',
    'deploy-finished 3',
  ]);
  t.same(
    master1.reloads.map((call) => [call.via, call.stage?.package, Object.keys(call.stage?.files ?? {})]),
    Array(3).fill(['stage', DIRECTOR_PACKAGE, [DIRECTOR_FILE]]),
    'a stage of the director package with the zone file',
  );
  t.same(
    master1.reloads.map((call) => call.stage?.files[DIRECTOR_FILE]),
    [1, 1, 2].map((g) => `template Host "handshake-hunter-director" {\n  vars.generation = ${g}\n}\n`),
    'deploys 1 and 3 change the content, deploy 2 deploys the same again',
  );
  const started = events.filter((e) => e.type === 'reload-started');
  t.same(
    started.map((e) => [e.master, e.via, e.changed]),
    [
      ['master1', 'stage', true],
      ['master2', 'sync', undefined],
      ['master1', 'stage', false],
      ['master1', 'stage', true],
      ['master2', 'sync', undefined],
    ],
  );
  t.same(
    events.filter((e) => e.type === 'reload-finished').map((e) => [e.master, e.newPid]),
    [
      ['master1', 1001],
      ['master2', 2001],
      ['master1', 1002],
      ['master1', 1003],
      ['master2', 2002],
    ],
    'each reload ends with the new worker',
  );
  t.same(
    events.filter((e) => e.type === 'deploy-finished').map((e) => [e.step, e.changed, e.generation]),
    [
      [1, true, 1],
      [2, false, 1],
      [3, true, 2],
    ],
  );
  t.same(asked.reconnected, Array(3).fill(['master1', 'master2']), 'every master checked after each deploy');
  t.equal(master2.reloads.length, 0, 'master2 only ever reloads by the sync');
  t.same(summary, { deploys: 3, changed: 2, verified: 5, failed: 0, retried: 0, stagesRemoved: 0 });
  t.match(events.at(-1), { source: 'director', type: 'deploys-finished', ...summary });
});

t.test('changeEvery 0 deploys the same content every time and waits for no sync', async (t) => {
  const { run, events } = await deployRun(t);
  const { stack, master1 } = cluster(run);
  const summary = await deployLikeDirector(stack, { ...base, deploys: 2, changeEvery: 0 });
  t.same(
    master1.reloads.map((call) => call.stage?.files[DIRECTOR_FILE]),
    Array(2).fill('template Host "handshake-hunter-director" {\n  vars.generation = 0\n}\n'),
  );
  t.same(
    events.filter((e) => e.type === 'reload-started').map((e) => e.master),
    ['master1', 'master1'],
  );
  t.same(summary, { deploys: 2, changed: 0, verified: 2, failed: 0, retried: 0, stagesRemoved: 0 });
});

t.test('a 423 (deploy pending) is retried, and the reload is still one reload', async (t) => {
  const { run, events } = await deployRun(t);
  const { stack, master1 } = cluster(run);
  master1.reloadErrors.push(new IcingaApiError(ErrorCodes.API_HTTP, 'HTTP 423 Locked', 423));
  const summary = await deployLikeDirector(stack, base);
  t.equal(master1.reloads.length, 2);
  t.same(story(events), [
    'reload-started 1 master1',
    'deploy-retried 1',
    'reload-signalled 1 master1',
    'reload-finished 1 master1',
    'reload-started 1 master2',
    'reload-signalled 1 master2',
    'reload-finished 1 master2',
    'deploy-finished 1',
  ]);
  t.match(
    events.find((e) => e.type === 'deploy-retried'),
    { source: 'director', step: 1, status: 423, attempt: 1 },
  );
  t.same(summary, { deploys: 1, changed: 1, verified: 2, failed: 0, retried: 1, stagesRemoved: 0 });
});

t.test('retries are bounded: past them a 503 is a failed reload', async (t) => {
  const { run, events } = await deployRun(t);
  const { stack, master1 } = cluster(run);
  const unavailable = () => new IcingaApiError(ErrorCodes.API_HTTP, 'HTTP 503 Service Unavailable', 503);
  master1.reloadErrors.push(unavailable(), unavailable(), unavailable());
  const summary = await deployLikeDirector(stack, { ...base, retries: 1 });
  t.equal(master1.reloads.length, 2, 'the first try and one retry');
  t.match(
    events.find((e) => e.type === 'reload-failed'),
    {
      step: 1,
      master: 'master1',
      error: 'HTTP 503 Service Unavailable',
      masterDown: false,
    },
  );
  t.notOk(
    events.some((e) => e.master === 'master2'),
    'no sync is awaited from a deploy that did not happen',
  );
  t.same(summary, { deploys: 1, changed: 1, verified: 0, failed: 1, retried: 1, stagesRemoved: 0 });
});

t.test('other errors are not retried; a master that went down is said to be down', async (t) => {
  for (const [error, running] of [
    [new IcingaApiError(ErrorCodes.API_HTTP, 'HTTP 500 stage invalid', 500), true],
    [new Error('socket hang up'), false],
  ] as Array<[Error, boolean]>) {
    const { run, events } = await deployRun(t);
    const { stack, master1 } = cluster(run);
    master1.reloadErrors.push(error);
    master1.running = running;
    const summary = await deployLikeDirector(stack, base);
    t.equal(master1.reloads.length, 1, `${error.message}: tried once`);
    t.match(
      events.find((e) => e.type === 'reload-failed'),
      { error: error.message, masterDown: !running },
    );
    t.match(summary, { failed: 1, retried: 0, verified: 0 });
  }
});

t.test('a synced master that keeps its worker past the deadline is a failed reload', async (t) => {
  const { run, events } = await deployRun(t);
  const { stack, master1, master2 } = cluster(run);
  master1.onNewContent = () => {}; // the sync never reaches master2
  const summary = await deployLikeDirector(stack, { ...base, reloadDeadlineMs: 600 });
  t.match(
    events.find((e) => e.type === 'reload-failed'),
    {
      step: 1,
      master: 'master2',
      error:
        'the zone config synced from the config master did not bring a new worker within 1 s (still pid 2000)',
      masterDown: false,
    },
  );
  t.equal(master2.pid, 2000);
  t.same(summary, { deploys: 1, changed: 1, verified: 1, failed: 1, retried: 0, stagesRemoved: 0 });
});

t.test('a synced master not seen before the deploy counts a worker started after it', async (t) => {
  const { run, events } = await deployRun(t);
  const { stack, master1, master2 } = cluster(run);
  master2.unanswered = 3; // the three looks before the deploy all fail
  master1.onNewContent = () => {
    master2.pid++;
    master2.programStart = Date.now() / 1000 + 1;
  };
  const summary = await deployLikeDirector(stack, base);
  t.match(
    events.find((e) => e.type === 'reload-finished' && e.master === 'master2'),
    { newPid: 2001 },
  );
  t.same(summary, { deploys: 1, changed: 1, verified: 2, failed: 0, retried: 0, stagesRemoved: 0 });

  // The same, but the sync never brings a new worker: the old one, started long ago, is no proof.
  const second = await deployRun(t);
  const quiet = cluster(second.run);
  quiet.master2.unanswered = 3;
  quiet.master1.onNewContent = () => {};
  await deployLikeDirector(quiet.stack, { ...base, reloadDeadlineMs: 400 });
  t.match(
    second.events.find((e) => e.type === 'reload-failed'),
    {
      master: 'master2',
      error: /its worker was never seen/,
    },
  );
});

t.test('old stages are removed, the active one and the newest kept', async (t) => {
  const { run } = await deployRun(t);
  const { stack, master1 } = cluster(run);
  master1.packageList = [
    { name: 'handshake-hunter', stages: ['a', 'b'], 'active-stage': 'b' },
    {
      name: DIRECTOR_PACKAGE,
      // Unsorted, the active one not the newest, one that the API refuses to delete.
      stages: ['h-06', 'h-02', 'h-04', 'h-01', 'h-05', 'h-03', 'h-07'],
      'active-stage': 'h-05',
    },
  ];
  master1.undeletable.add('h-03');
  const summary = await deployLikeDirector(stack, { ...base, keepStages: 2 });
  t.same(master1.deleted, ['director/h-01', 'director/h-02', 'director/h-04'], 'the oldest four tried');
  t.equal(summary.stagesRemoved, 3, 'the refused one not counted');
});

t.test('no director package, or no answer, removes nothing', async (t) => {
  for (const packages of [[], new Error('HTTP 503')]) {
    const { run } = await deployRun(t);
    const { stack, master1 } = cluster(run);
    master1.packageList = packages;
    const summary = await deployLikeDirector(stack, base);
    t.equal(summary.stagesRemoved, 0);
    t.same(master1.deleted, []);
  }
});

t.test('endpoints missing after a deploy are a reconnect-timeout', async (t) => {
  const missing = Array.from({ length: 230 }, (_, i) => `master2 does not see sim-${i + 1}`);
  const cases: Array<[string, Reconnects, string[] | Error, string[]]> = [
    [
      'named by the error',
      async () => {
        throw new HuntError(ErrorCodes.STACK_NOT_READY, 'not ready', { details: { missing } });
      },
      ['not asked'],
      missing.slice(0, 200),
    ],
    [
      'asked of the API after another error',
      async () => {
        throw new Error('socket hang up');
      },
      ['master1 does not see agent-1'],
      ['master1 does not see agent-1'],
    ],
  ];
  for (const [why, reconnected, answer, expected] of cases) {
    const { run, events } = await deployRun(t);
    const { stack } = cluster(run, { reconnected, missing: answer });
    await deployLikeDirector(stack, { ...base, reloadDeadlineMs: 5_000 });
    const timeout = events.find((e) => e.type === 'reconnect-timeout');
    t.match(timeout, { source: 'reload', step: 1, deadlineMs: 5_000 }, why);
    t.same(timeout?.missing, expected, why);
  }
  const { run, events } = await deployRun(t);
  const { stack } = cluster(run, {
    reconnected: async () => {
      throw new Error('socket hang up');
    },
    missing: new Error('API down'),
  });
  await deployLikeDirector(stack, base);
  t.notOk(
    events.some((e) => e.type === 'reconnect-timeout'),
    'no list, no timeout event: the deploy goes on',
  );
});

t.test('an abort during the wait between deploys ends the deploys', async (t) => {
  const { run, events } = await deployRun(t);
  const { stack, master1 } = cluster(run);
  const interrupt = new AbortController();
  const deploying = deployLikeDirector(stack, {
    ...base,
    deploys: 5,
    // 30 s between deploys: only the abort ends this within the 5 s deadline.
    everyMs: 30_000,
    signal: interrupt.signal,
  });
  await eventually('the first deploy', () => events.some((e) => e.type === 'deploy-finished'));
  interrupt.abort('SIGINT');
  const summary = await within(5_000, deploying);
  t.equal(master1.reloads.length, 1);
  t.match(summary, { deploys: 1, verified: 2, failed: 0 });
  t.match(events.at(-1), { type: 'deploys-finished', deploys: 1 });
});

t.test('an abort while the synced master reloads is no failure and no timeout', async (t) => {
  const { run, events } = await deployRun(t);
  // A run's interrupt stops the deploys and the stack's set-up waits alike (RunSession aborts both).
  const interrupt = new AbortController();
  const { stack, master1, asked } = cluster(run, {
    // Endpoints that never come back: only the signal ends this wait (the stack's own by default).
    reconnected: async (_reloads, options) => {
      const signal = options?.signal ?? interrupt.signal;
      await untilAborted(signal);
      throw signal.reason;
    },
    missing: ['master1 does not see master2'],
  });
  master1.onNewContent = () => {}; // master2 never gets its new worker
  const deploying = deployLikeDirector(stack, {
    ...base,
    deploys: 3,
    reloadDeadlineMs: 30_000,
    signal: interrupt.signal,
  });
  await eventually('master2 waiting for its sync', () =>
    events.some((e) => e.type === 'reload-signalled' && e.master === 'master2'),
  );
  interrupt.abort('SIGINT');
  const summary = await within(5_000, deploying);
  t.notOk(
    events.some((e) => e.type === 'reload-failed' || e.type === 'reconnect-timeout'),
    'the interrupt is the harness, not the system',
  );
  t.notOk(
    events.some((e) => e.type === 'reload-finished' && e.master === 'master2'),
    'the reload cut short is left unended',
  );
  t.equal(asked.missingConnections, 0, 'nobody asked the API who is missing');
  t.match(summary, { deploys: 1, verified: 1, failed: 0 });
});

t.test('an abort while the config master waits for its worker ends the deploys, unfailed', async (t) => {
  const { run, events } = await deployRun(t);
  const { stack, master1, master2 } = cluster(run);
  // The new worker never comes; the reload waits for the signal the way a real one polls it.
  master1.hold = async (options) => {
    await untilAborted(options.signal);
    options.signal?.throwIfAborted();
  };
  const interrupt = new AbortController();
  const deploying = deployLikeDirector(stack, { ...base, deploys: 3, signal: interrupt.signal });
  await eventually('master1 signalled', () => events.some((e) => e.type === 'reload-signalled'));
  interrupt.abort('SIGINT');
  const summary = await within(5_000, deploying);
  t.equal(master1.reloads.length, 1, 'no other deploy');
  t.same(story(events), ['reload-started 1 master1', 'reload-signalled 1 master1', 'deploy-finished 1']);
  t.equal(master2.pid, 2000);
  t.same(summary, { deploys: 1, changed: 1, verified: 0, failed: 0, retried: 0, stagesRemoved: 0 });
});

t.test('an abort while a 423 waits for its retry deploys no more', async (t) => {
  const { run, events } = await deployRun(t);
  const { stack, master1 } = cluster(run);
  master1.reloadErrors.push(new IcingaApiError(ErrorCodes.API_HTTP, 'HTTP 423 Locked', 423));
  const interrupt = new AbortController();
  const deploying = deployLikeDirector(stack, { ...base, deploys: 3, signal: interrupt.signal });
  await eventually('the retry', () => events.some((e) => e.type === 'deploy-retried'));
  interrupt.abort('SIGINT');
  const summary = await within(5_000, deploying);
  t.equal(master1.reloads.length, 1, 'the locked deploy is not tried again');
  t.notOk(events.some((e) => e.type === 'reload-failed'));
  t.same(summary, { deploys: 1, changed: 1, verified: 0, failed: 0, retried: 1, stagesRemoved: 0 });
});
