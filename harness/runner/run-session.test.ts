import t from 'tap';
import { Run } from '../run/run.ts';
import { eventually } from '../test-kits/eventually.ts';
import { RunSession } from './run-session.ts';

t.test(
  "parts come down in the layers' order, the last started first, a failing one not stopping the rest",
  async (t) => {
    const down: string[] = [];
    {
      await using session = new RunSession();
      session.own('ground', () => down.push('detection'));
      session.own('targets', () => down.push('target 1'));
      session.own('observers', () => down.push('observer 1'));
      session.own('targets', () => down.push('target 2'));
      session.own('recorders', () => {
        throw new Error('the recorder failed to stop');
      });
      session.own('observers', () => down.push('observer 2'));
      session.own('faults', async () => down.push('chaos'));
      session.own('clock', () => down.push('status ticker'));
    }
    t.same(down, ['status ticker', 'chaos', 'observer 2', 'observer 1', 'target 2', 'target 1', 'detection']);
  },
);

t.test('an interrupt stops the run and its set-up; --duration stops only the run', async (t) => {
  await using run = await Run.create({ name: 'session', resultsDir: t.testdir() });
  const interrupt = new AbortController();
  {
    await using session = new RunSession();
    session.watchLimits(run, { signal: interrupt.signal });
    t.notOk(session.stop.signal.aborted);
    interrupt.abort();
    t.ok(session.interrupted, 'interrupted');
    t.ok(session.stopSetUp.signal.aborted, 'set-up stops too');
  }
  {
    await using session = new RunSession();
    session.watchLimits(run, { durationMs: 30 });
    // The limit's timer does not hold the process open (unref): a ref'd poll does, with a deadline.
    await eventually('the duration limit', () => session.stop.signal.aborted, { timeoutMs: 5000 });
    t.equal(session.stop.signal.reason, 'duration');
    t.notOk(session.interrupted);
    t.notOk(session.stopSetUp.signal.aborted, 'a set-up that outlasts --duration still does its one step');
  }
  t.ok(interrupt.signal.aborted);
});

t.test('Ctrl-C after --duration ended the run, while its parts come down, still hurries them', async (t) => {
  await using run = await Run.create({ name: 'session', resultsDir: t.testdir() });
  const interrupt = new AbortController();
  let hurried: boolean | undefined;
  {
    await using session = new RunSession();
    session.watchLimits(run, { signal: interrupt.signal, durationMs: 10 });
    await eventually('the duration limit', () => session.stop.signal.aborted, { timeoutMs: 5000 });
    t.notOk(session.interrupted, 'the duration, not an interrupt');
    // A recorder reading its backlog: Ctrl-C comes while it comes down, after the clock's layer.
    session.own('recorders', async () => {
      interrupt.abort();
      hurried = session.interrupt.signal.aborted;
    });
  }
  t.equal(hurried, true, 'the interrupt reached the part coming down');
});

t.test('a scenario cut short in set-up by the interrupt is no failure; any other error is', async (t) => {
  await using session = new RunSession();
  t.equal(await session.play(async () => {}), undefined);
  const broken = new Error('broken');
  t.equal(await session.play(async () => Promise.reject(broken)), broken);
  session.stopSetUp.abort('interrupted');
  t.equal(await session.play(async () => Promise.reject(session.stopSetUp.signal.reason)), undefined);
  const abortError = Object.assign(new Error('aborted'), { name: 'AbortError' });
  t.equal(await session.play(async () => Promise.reject(abortError)), undefined);
});
