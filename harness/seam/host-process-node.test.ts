import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { appendFile, readlink, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import t, { type Test } from 'tap';
import { eventually, within } from '../test-kits/eventually.ts';
import { readHostProcess } from './host-process.ts';
import { HostProcessNode } from './host-process-node.ts';
import { LogTail } from './log-tail.ts';

/**
 * HostProcessNode against real processes on this host: a `sleep` stands in for the daemon the
 * harness did not start. nsenter into another process's network namespace needs root, as
 * `hunt watch` does.
 */

interface Watched {
  child: ChildProcess;
  pid: number;
  startTicks: number;
  netns: string;
}

/** A process the harness did not start, as far as the node knows: killed when the test ends. */
async function watched(t: Test, options: { ownNetwork?: boolean; netOf?: number } = {}): Promise<Watched> {
  // `unshare --net sleep 30` execs sleep in a namespace of its own: commands that run in the
  // node's namespace are told apart from the test's. nsenter execs it in another's.
  const child = options.ownNetwork
    ? spawn('unshare', ['--net', 'sleep', '30'])
    : options.netOf !== undefined
      ? spawn('nsenter', [`--net=/proc/${options.netOf}/ns/net`, '--', 'sleep', '30'])
      : spawn('sleep', ['30']);
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  await once(child, 'spawn');
  const pid = child.pid as number;
  const running = await eventually(`process ${pid} is sleep`, async () => {
    const p = await readHostProcess(pid);
    return p?.comm === 'sleep' && p.netns !== undefined && p;
  });
  return { child, pid, startTicks: running.startTicks, netns: running.netns as string };
}

/** A log the node owns; stopped when the test ends (a tail that is never stopped polls forever). */
function logTail(t: Test): LogTail {
  const path = `${t.testdir()}/icinga2.log`;
  const tail = new LogTail(path, { pollMs: 20 });
  t.teardown(() => tail.stop());
  return tail;
}

/** The node for this process, as `hunt watch` makes it. */
function nodeOn(target: { pid: number; startTicks: number; netns?: string }, log: LogTail) {
  return new HostProcessNode({
    name: 'master',
    role: 'master',
    pid: target.pid,
    startTicks: target.startTicks,
    ...(target.netns !== undefined && { netns: target.netns }),
    address: '172.19.0.3',
    log,
  });
}

/** The pids whose whole command line is this (pgrep -f -x), sorted. */
function pgrep(commandLine: string): Promise<number[]> {
  return new Promise((resolve, reject) => {
    execFile('pgrep', ['-f', '-x', commandLine], { encoding: 'utf8' }, (error, stdout) => {
      const code = (error as { code?: unknown } | null)?.code;
      if (error && code !== 1) reject(error);
      else
        resolve(
          stdout
            .split('\n')
            .filter(Boolean)
            .map(Number)
            .sort((a, b) => a - b),
        );
    });
  });
}

/** A sleep no other test (nor another run of this file) starts: its argument is this process's pid. */
const helperArgs = (n: number) => ['sleep', `${31 + n}.${process.pid}`];

const ownNetns = () => readlink('/proc/self/ns/net');

const alive = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;

t.test("exec runs in the process's network namespace: exit code and output", async (t) => {
  const daemon = await watched(t, { ownNetwork: true });
  t.not(daemon.netns, await ownNetns(), 'the stand-in has a network namespace of its own');
  const node = nodeOn(daemon, logTail(t));
  t.strictSame(await node.exec(['sh', '-c', 'echo hi; exit 3']), { exitCode: 3, output: 'hi\n' });
  t.strictSame(await node.exec(['readlink', '/proc/self/ns/net']), {
    exitCode: 0,
    output: `${daemon.netns}\n`,
  });
  t.strictSame(
    await node.exec(['sh', '-c', 'echo out; echo err >&2']),
    { exitCode: 0, output: 'out\nerr\n' },
    'stdout, then stderr',
  );
  // Only loopback in a new namespace, and it is down: no eth0 of the test's.
  t.strictSame(await node.exec(['cat', '/proc/self/net/fib_trie']), { exitCode: 0, output: '' });
  t.ok(alive(daemon.child), 'the process runs on');
});

t.test('exec of a missing command: a non-zero exit code, not a throw', async (t) => {
  const daemon = await watched(t);
  const node = nodeOn(daemon, logTail(t));
  const result = await node.exec(['no-such-command-hh']);
  t.equal(result.exitCode, 127);
  t.match(result.output, /nsenter: failed to execute no-such-command-hh: No such file or directory/);
});

t.test('exec for a process that is gone: a non-zero exit code, not a throw', async (t) => {
  const daemon = await watched(t);
  const node = nodeOn(daemon, logTail(t));
  daemon.child.kill('SIGKILL');
  await within(5_000, once(daemon.child, 'exit'));
  const result = await node.exec(['true']);
  t.equal(result.exitCode, 1);
  t.match(result.output, new RegExp(`nsenter: cannot open /proc/${daemon.pid}/ns/net`));
});

t.test('startBackground starts a helper in the namespace; stopBackground ends it', async (t) => {
  const daemon = await watched(t, { ownNetwork: true });
  const node = nodeOn(daemon, logTail(t));
  const helper = helperArgs(0);
  t.strictSame(await pgrep(helper.join(' ')), [], 'no such helper before');
  await node.startBackground(helper);
  const [pid] = await eventually('the helper runs', async () => {
    const pids = await pgrep(helper.join(' '));
    return pids.length > 0 && pids;
  });
  t.strictSame(await pgrep(helper.join(' ')), [pid], 'one helper');
  t.equal(await readlink(`/proc/${pid}/ns/net`), daemon.netns, "in the process's network namespace");
  t.equal((await readHostProcess(pid as number))?.ppid, process.pid, 'the harness is its parent');
  await node.stopBackground();
  await eventually('the helper is gone', async () => (await pgrep(helper.join(' '))).length === 0, {
    timeoutMs: 5_000,
  });
  t.ok(alive(daemon.child), 'the watched process was not signalled');
  t.equal(await node.isRunning(), true);
  await node.stopBackground(); // nothing left to stop: returns
});

t.test(
  'isRunning: true while the process lives, false once killed, false for another start time',
  async (t) => {
    const daemon = await watched(t);
    const log = logTail(t);
    const node = nodeOn(daemon, log);
    t.equal(await node.isRunning(), true);
    const reused = nodeOn({ pid: daemon.pid, startTicks: daemon.startTicks + 1 }, log);
    t.equal(await reused.isRunning(), false, 'a pid with another start time is another process');
    t.equal(node.pid, daemon.pid);
    daemon.child.kill('SIGKILL');
    await within(5_000, once(daemon.child, 'exit'));
    t.equal(await node.isRunning(), false);
  },
);

t.test('follow: the node becomes another process', async (t) => {
  const first = await watched(t);
  const second = await watched(t, { ownNetwork: true });
  const node = nodeOn(first, logTail(t));
  await node.follow(second.pid, second.startTicks, second.netns);
  t.equal(node.pid, second.pid);
  t.equal(await node.isRunning(), true);
  first.child.kill('SIGKILL');
  await within(5_000, once(first.child, 'exit'));
  t.equal(await node.isRunning(), true, 'the old process gone does not matter');
  t.strictSame(await node.exec(['readlink', '/proc/self/ns/net']), {
    exitCode: 0,
    output: `${second.netns}\n`,
  });
  second.child.kill('SIGKILL');
  await within(5_000, once(second.child, 'exit'));
  t.equal(await node.isRunning(), false, 'the followed process gone is the node gone');
});

t.test(
  'follow into another network namespace starts the helpers over there; in the same, leaves them',
  async (t) => {
    const first = await watched(t, { ownNetwork: true });
    const node = nodeOn(first, logTail(t));
    t.teardown(() => node.stopBackground());
    const helper = helperArgs(1);
    await node.startBackground(helper);
    const [before] = await eventually('the helper runs', async () => {
      const pids = await pgrep(helper.join(' '));
      return pids.length > 0 && pids;
    });
    t.equal(await readlink(`/proc/${before}/ns/net`), first.netns);

    // Restarted in the same namespace (a host's systemd unit): the helper goes on as it was.
    const sameNet = await watched(t, { netOf: first.pid });
    t.equal(sameNet.netns, first.netns);
    await node.follow(sameNet.pid, sameNet.startTicks, sameNet.netns);
    t.strictSame(await pgrep(helper.join(' ')), [before], 'the same helper');

    // Restarted in a new one (a container started again): the old namespace holds nothing more.
    const second = await watched(t, { ownNetwork: true });
    t.not(second.netns, first.netns);
    await node.follow(second.pid, second.startTicks, second.netns);
    const [after] = await eventually('the helper runs again', async () => {
      const pids = await pgrep(helper.join(' '));
      return pids.length === 1 && pids[0] !== before && pids;
    });
    t.equal(await readlink(`/proc/${after}/ns/net`), second.netns, 'in the new namespace');
    t.ok(alive(first.child) && alive(second.child), 'neither watched process was signalled');
    await node.stopBackground();
    await eventually('the helper is gone', async () => (await pgrep(helper.join(' '))).length === 0, {
      timeoutMs: 5_000,
    });
  },
);

t.test('the node has no way to signal, pause or limit the process it watches', async (t) => {
  const daemon = await watched(t);
  const node = nodeOn(daemon, logTail(t)) as unknown as Record<string, unknown>;
  for (const capability of ['kill', 'pause', 'unpause', 'limitCpu'])
    t.equal(node[capability], undefined, `no ${capability}`);
});

t.test('after stop, nothing starts again: not a helper, not a follow into a new namespace', async (t) => {
  const first = await watched(t, { ownNetwork: true });
  const node = nodeOn(first, logTail(t));
  const helper = helperArgs(2);
  await node.startBackground(helper);
  await eventually('the helper runs', async () => (await pgrep(helper.join(' '))).length === 1);
  await node.stop();
  const second = await watched(t, { ownNetwork: true });
  await node.follow(second.pid, second.startTicks, second.netns);
  await node.startBackground(helper);
  t.strictSame(await pgrep(helper.join(' ')), [], 'no helper runs after stop');
});

t.test('stop ends the helpers and the log tail, and never signals the watched process', async (t) => {
  const daemon = await watched(t, { ownNetwork: true });
  const dir = t.testdir();
  const path = `${dir}/icinga2.log`;
  await writeFile(path, '');
  const log = new LogTail(path, { pollMs: 20 });
  const node = nodeOn(daemon, log);
  const helpers = [helperArgs(2), helperArgs(3)];
  for (const helper of helpers) await node.startBackground(helper);
  for (const helper of helpers)
    await eventually(`${helper.join(' ')} runs`, async () => (await pgrep(helper.join(' '))).length === 1);
  await log.looked();
  await appendFile(path, '[2026-11-21 07:30:01 +0000] information/ApiListener: New client connection\n');

  await node.stop();
  for (const helper of helpers)
    await eventually(
      `${helper.join(' ')} is gone`,
      async () => (await pgrep(helper.join(' '))).length === 0,
      {
        timeoutMs: 5_000,
      },
    );
  t.strictSame(
    log.since(0).map((line) => line.text),
    ['[2026-11-21 07:30:01 +0000] information/ApiListener: New client connection'],
    'what was written before stop is read',
  );
  await appendFile(path, '[2026-11-21 07:30:02 +0000] information/ApiListener: after the stop\n');
  await sleep(200); // ten of the tail's polls
  t.equal(log.since(0).length, 1, 'the tail reads no more');
  t.ok(alive(daemon.child), 'the watched process runs on');
  t.equal(await node.isRunning(), true);
});
