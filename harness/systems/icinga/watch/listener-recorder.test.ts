import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { DetectorChain } from '../../../observe/detection.ts';
import { IncidentLedger } from '../../../observe/incidents.ts';
import { Run } from '../../../run/run.ts';
import { readHostProcess } from '../../../seam/host-process.ts';
import { HostProcessNode } from '../../../seam/host-process-node.ts';
import { LogTail } from '../../../seam/log-tail.ts';
import { eventually } from '../../../test-kits/eventually.ts';
import { fakeProcess } from '../../../test-kits/fake-proc.ts';
import { icingaDetectors } from '../detectors/index.ts';
import { ListenerRecorder } from './listener-recorder.ts';

// A real process stands in for a daemon with no worker (its own listener counts, as an umbrella's
// does): it listens, closes its listener on SIGUSR2 and listens again on SIGUSR1.
const DAEMON = `
const net = require('node:net');
let server;
let port = 0;
const listen = () => { server = net.createServer().listen(port, '127.0.0.1', () => { port = server.address().port; console.log(port); }); };
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

t.test("the listener's owner is the worker: seen, silent once per spell, again in the next", async (t) => {
  const { child, port, node, lines } = await daemon(t);
  await using run = await Run.create({ name: 'listener', resultsDir: t.testdir() });
  const recorder = new ListenerRecorder(run.history, node, port, {
    silenceMs: 300,
    sayAgainMs: 60_000,
    scanEveryMs: 0,
  });
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

  // The same worker listening again ends the spell (nothing new to say of it: the same pid);
  // the next silence is a new spell, said again.
  child.kill('SIGUSR1');
  await eventually('listening again', async () => lines.length >= 3);
  t.equal(Number(lines.at(-1)), port, 'on its port');
  await recorder.look();
  t.same(events().length, 2, 'the same worker: nothing new');
  child.kill('SIGUSR2');
  await eventually('closed again', async () => lines.filter((line) => line === 'closed').length === 2);
  await eventually(
    'the second silence',
    async () => {
      await recorder.look();
      return events().length === 3;
    },
    { timeoutMs: 5_000, everyMs: 100 },
  );
  t.same(events().at(-1), 'worker-silent master', 'a new spell, said again');
});

t.test('a daemon that never listened is starting, not silent, until its patience runs out', async (t) => {
  const { node } = await daemon(t);
  await using run = await Run.create({ name: 'listener', resultsDir: t.testdir() });
  // Port 1 is never this process's: as a daemon loading its config.
  const starting = new ListenerRecorder(run.history, node, 1, {
    silenceMs: 100,
    startingMs: 60_000,
    scanEveryMs: 0,
  });
  const patient = new ListenerRecorder(run.history, node, 1, {
    silenceMs: 100,
    startingMs: 0,
    scanEveryMs: 0,
  });
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

/** A tcp6 LISTEN line on [::]:5665 with this socket inode. */
const listen5665 = (inode: number) =>
  `   0: 00000000000000000000000000000000:1621 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  5665        0 ${inode} 1 0000000000000000 100 0 0 10 0\n`;
const TCP6 =
  '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';

t.test(
  'a reload under the umbrella is a disruption, seen in /proc: the workers detector opens nothing',
  async (t) => {
    // The umbrella is a real process (the node checks it runs); its workers live in a fake /proc.
    const { node } = await daemon(t);
    // One test folder (each t.testdir() call starts it afresh): the fake /proc and the run in it.
    const proc = join(t.testdir(), 'proc');
    const umbrella = {
      pid: node.pid,
      ppid: 1,
      comm: 'icinga2',
      argv: ['icinga2', 'daemon'],
      startTicks: 100,
    };
    await fakeProcess(proc, umbrella);
    const worker = async (pid: number, startTicks: number, listening: boolean) => {
      await rm(`${proc}/${pid}`, { recursive: true, force: true });
      await fakeProcess(proc, {
        pid,
        ppid: node.pid,
        comm: 'icinga2',
        argv: ['icinga2', 'daemon'],
        startTicks,
        fds: listening ? { '9': `socket:[${pid}]` } : {},
        tcp6: TCP6 + (listening ? listen5665(pid) : ''),
      });
    };
    await using run = await Run.create({ name: 'listener', resultsDir: join(proc, '..', 'results') });
    const recorder = new ListenerRecorder(run.history, node, 5665, { proc, silenceMs: 60_000 });
    const kinds = () =>
      run.history
        .recent()
        .filter((e) => e.source === 'observe')
        .map((e) => (e.type === 'worker-seen' ? `seen ${e.pid}` : `${e.type} ${e.kind ?? ''}`.trim()));

    await worker(900001, 200, true);
    await recorder.look();
    // The user's reload: a second worker beside the first, which then goes; the new one listens.
    await worker(900002, 300, false);
    await recorder.look();
    await rm(`${proc}/900001`, { recursive: true });
    await worker(900002, 300, true);
    await recorder.look();
    // A reload quicker than a look: the listener changed hands, no overlap seen.
    await rm(`${proc}/900002`, { recursive: true });
    await worker(900003, 400, true);
    await recorder.look();
    recorder.stop();
    t.same(kinds(), [
      'seen 900001',
      'disruption-started reload',
      'seen 900002',
      'disruption-ended reload',
      'disruption-started reload',
      'seen 900003',
      'disruption-ended reload',
    ]);

    const ledger = new IncidentLedger();
    const chain = new DetectorChain(
      icingaDetectors.filter((detector) => detector.name === 'workers'),
      (signal) => ledger.apply(signal),
    );
    for (const event of run.history.recent()) chain.feed(event);
    t.same(ledger.list(), [], 'no worker-replaced: each new worker came with its reload');
    // The same worker change with no reload around it is what the detector reports.
    const bare = new IncidentLedger();
    const alone = new DetectorChain(
      icingaDetectors.filter((detector) => detector.name === 'workers'),
      (signal) => bare.apply(signal),
    );
    for (const event of run.history.recent().filter((e) => e.type === 'worker-seen')) alone.feed(event);
    t.same(
      bare.list().map((incident) => incident.kind),
      ['worker-replaced'],
      'without the reload windows the change is news (reported once)',
    );
  },
);

t.test('while nothing changes the listener is looked for only every scanEveryMs', async (t) => {
  const { child, port, node, lines } = await daemon(t);
  await using run = await Run.create({ name: 'listener', resultsDir: t.testdir() });
  const recorder = new ListenerRecorder(run.history, node, port, { silenceMs: 0, scanEveryMs: 60_000 });
  const silent = () => run.history.recent().filter((event) => event.type === 'worker-silent').length;
  await recorder.look();
  child.kill('SIGUSR2');
  await eventually('the listener closed', async () => lines.includes('closed'));
  await recorder.look();
  t.equal(silent(), 0, 'the same workers, the scan not due: the TCP tables are not read');
  const eager = new ListenerRecorder(run.history, node, port, {
    silenceMs: 0,
    scanEveryMs: 0,
    startingMs: 0,
  });
  await eager.look();
  await eager.look();
  t.equal(silent(), 1, 'a scan that is due finds the port silent');
});
