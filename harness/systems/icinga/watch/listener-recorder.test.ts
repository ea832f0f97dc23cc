import { spawn } from 'node:child_process';
import { once } from 'node:events';
import t, { type Test } from 'tap';
import { Run } from '../../../run/run.ts';
import { readHostProcess } from '../../../seam/host-process.ts';
import { HostProcessNode } from '../../../seam/host-process-node.ts';
import { LogTail } from '../../../seam/log-tail.ts';
import { eventually } from '../../../test-kits/eventually.ts';
import { ListenerRecorder } from './listener-recorder.ts';

// A real process stands in for a daemon with no worker (its own listener counts, as an umbrella's
// does): it listens, closes its listener on SIGUSR2 and listens again on SIGUSR1.
const DAEMON = `
const net = require('node:net');
let server;
const listen = () => { server = net.createServer().listen(0, '127.0.0.1', () => console.log(server.address().port)); };
listen();
process.on('SIGUSR2', () => server.close(() => console.log('closed')));
process.on('SIGUSR1', listen);
setInterval(() => {}, 1000);
`;

async function daemon(t: Test) {
  const child = spawn(process.execPath, ['-e', DAEMON], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => void child.kill('SIGKILL'));
  const lines: string[] = [];
  child.stdout.setEncoding('utf8').on('data', (text: string) => lines.push(...text.trim().split('\n')));
  await once(child, 'spawn');
  const port = Number(await eventually('the port', async () => lines[0]));
  const pid = child.pid as number;
  const seen = await eventually('the process', async () => readHostProcess(pid));
  const node = new HostProcessNode({
    name: 'master',
    role: 'master',
    pid,
    startTicks: seen.startTicks,
    address: '127.0.0.1',
    log: new LogTail(`${t.testdir()}/icinga2.log`, { pollMs: 50 }),
  });
  t.teardown(() => node.log.stop());
  return { child, port, node, lines };
}

t.test("the listener's owner is the worker: seen, silent once per spell, seen again", async (t) => {
  const { child, port, node, lines } = await daemon(t);
  await using run = await Run.create({ name: 'listener', resultsDir: t.testdir() });
  const recorder = new ListenerRecorder(run.history, node, port, { silenceMs: 300, sayAgainMs: 60_000 });
  const events = () =>
    run.history
      .recent()
      .filter((event) => event.type === 'worker-seen' || event.type === 'worker-silent')
      .map((event) => `${event.type} ${event.master} ${event.pid ?? ''}`.trim());
  await recorder.look();
  await recorder.look();
  t.same(events(), [`worker-seen master ${child.pid}`], 'seen once while it holds the listener');

  child.kill('SIGUSR2');
  await eventually('the listener closed', async () => lines.includes('closed'));
  await recorder.look();
  t.same(events().length, 1, 'a moment without the listener is not silence yet');
  await eventually(
    'the silence',
    async () => {
      await recorder.look();
      return events().length === 2;
    },
    { timeoutMs: 5_000, everyMs: 100 },
  );
  await recorder.look();
  t.same(events().at(-1), 'worker-silent master', 'silent, said once per spell');
  t.same(events().length, 2);
  const silent = run.history.recent().find((event) => event.type === 'worker-silent');
  t.match(silent, { containerRunning: true, port }, 'the daemon still runs: its worker is silent, not gone');

  child.kill('SIGUSR1');
  await eventually('listening again', async () => lines.length >= 3);
  const newPort = Number(lines.at(-1));
  const again = new ListenerRecorder(run.history, node, newPort, { silenceMs: 300 });
  await again.look();
  t.same(events().at(-1), `worker-seen master ${child.pid}`, 'seen again once it listens');
});

t.test('a daemon that never listened is starting, not silent, until its patience runs out', async (t) => {
  const { node } = await daemon(t);
  await using run = await Run.create({ name: 'listener', resultsDir: t.testdir() });
  // Port 1 is never this process's: as a daemon loading its config.
  const starting = new ListenerRecorder(run.history, node, 1, { silenceMs: 100, startingMs: 60_000 });
  const patient = new ListenerRecorder(run.history, node, 1, { silenceMs: 100, startingMs: 0 });
  const silences = () => run.history.recent().filter((event) => event.type === 'worker-silent').length;
  for (let i = 0; i < 3; i++) {
    await starting.look();
    await new Promise((resolve) => setTimeout(resolve, 60));
  }
  t.equal(silences(), 0, 'starting: nothing said');
  await eventually(
    'silent once its start took too long',
    async () => {
      await patient.look();
      return silences() === 1;
    },
    { timeoutMs: 3_000, everyMs: 50 },
  );
  t.pass('silent');
});

t.test('a daemon gone is not silent: following it is the target’s job', async (t) => {
  const { child, port, node } = await daemon(t);
  await using run = await Run.create({ name: 'listener', resultsDir: t.testdir() });
  const recorder = new ListenerRecorder(run.history, node, port, { silenceMs: 0 });
  child.kill('SIGKILL');
  await once(child, 'exit');
  await recorder.look();
  await recorder.look();
  t.same(
    run.history.recent().filter((event) => event.source === 'observe'),
    [],
    'nothing recorded',
  );
  recorder.watch(10).stop();
});
