import { mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import t from 'tap';
import { type HostProcess, readHostProcess } from '../../../seam/host-process.ts';
import { fakeJournalctl } from '../../../test-kits/fake-journalctl.ts';
import { type FakeProcess, fakeProcess as fakeProcessIn } from '../../../test-kits/fake-proc.ts';
import { cgroupOf, describeFound, findIcinga, listenerOf, umbrellaIn, workerOf } from './find-icinga.ts';

/**
 * A container's Icinga 2 as /proc shows it: tini -> icinga2 umbrella -> icinga2 worker (holds the
 * API's LISTEN socket, tcp6 *:5665) -> icinga2 process-spawn helper. The pids are a real
 * container's (8069, 8117, 8151, 8156) moved past the kernel's highest pid (2^22): findIcinga runs
 * nsenter against the umbrella's pid for its version, and the host running these tests may run
 * an icinga2 container with those very pids; past the limit no process has them, so nsenter
 * fails on every host and the version is unknown.
 */
const PAST_PID_MAX = 4_200_000;
const TINI = PAST_PID_MAX + 8069;
const UMBRELLA = PAST_PID_MAX + 8117;
const WORKER = PAST_PID_MAX + 8151;
const SPAWN_HELPER = PAST_PID_MAX + 8156;

const ICINGA2 = '/usr/lib/x86_64-linux-gnu/icinga2/sbin/icinga2';
const ICINGA_ARGV = [ICINGA2, '--no-stack-rlimit', 'daemon'];
const CGROUP = '/docker/2b17b3f4c8a9e1d05a7c6b3e2f1d4a9b8c7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a';
const NETNS = 'net:[4026532489]';
const LOG = '/var/log/icinga2/icinga2.log';

/** A process of the fake tree: in the container's cgroup unless it says otherwise; `log` at LOG. */
function fakeProcess(proc: string, p: FakeProcess & { log?: string }): Promise<void> {
  const { log, ...rest } = p;
  return fakeProcessIn(proc, {
    cgroup: `0::${CGROUP}\n`,
    ...rest,
    ...(log !== undefined && { rootFiles: { [LOG]: log } }),
  });
}

const TCP_HEADER =
  '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
const TCP6_HEADER =
  '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';

/** A tcp6 LISTEN line on [::]:port with this socket inode. */
const listen6 = (sl: number, port: number, inode: number) =>
  `   ${sl}: 00000000000000000000000000000000:${port.toString(16).toUpperCase().padStart(4, '0')} 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  5665        0 ${inode} 1 00000000c3d4e5f6 100 0 0 10 0\n`;
/** A tcp LISTEN line on 0.0.0.0:port with this socket inode. */
const listen4 = (sl: number, port: number, inode: number) =>
  `   ${sl}: 00000000:${port.toString(16).toUpperCase().padStart(4, '0')} 00000000:0000 0A 00000000:00000000 00:00000000 00000000  5665        0 ${inode} 1 000000001820221f 100 0 0 10 0\n`;
/** An established connection from a peer to 172.19.0.3:5665 (not a listening port). */
const ESTABLISHED =
  '   9: 030013AC:1621 020013AC:B5A2 01 00000000:00000000 00:00000000 00000000  5665        0 31009 1 000000002d4ad12d 20 4 28 14 -1\n';

/** The container's network namespace: eth0 172.19.0.3 and loopback. */
const FIB_TRIE = `Main:
  +-- 0.0.0.0/0 3 0 5
     |-- 0.0.0.0
        /0 universe UNICAST
     +-- 127.0.0.0/8 2 0 2
        +-- 127.0.0.0/31 1 0 0
           |-- 127.0.0.0
              /8 host LOCAL
           |-- 127.0.0.1
              /32 host LOCAL
        |-- 127.255.255.255
           /32 link BROADCAST
     +-- 172.19.0.0/16 2 0 2
        +-- 172.19.0.0/30 2 0 2
           |-- 172.19.0.0
              /16 link UNICAST
           |-- 172.19.0.3
              /32 host LOCAL
        |-- 172.19.255.255
           /32 link BROADCAST
Local:
  +-- 0.0.0.0/0 3 0 5
     |-- 0.0.0.0
        /0 universe UNICAST
     +-- 127.0.0.0/8 2 0 2
        +-- 127.0.0.0/31 1 0 0
           |-- 127.0.0.0
              /8 host LOCAL
           |-- 127.0.0.1
              /32 host LOCAL
        |-- 127.255.255.255
           /32 link BROADCAST
     +-- 172.19.0.0/16 2 0 2
        +-- 172.19.0.0/30 2 0 2
           |-- 172.19.0.0
              /16 link UNICAST
           |-- 172.19.0.3
              /32 host LOCAL
        |-- 172.19.255.255
           /32 link BROADCAST
`;

interface TreeOptions {
  /** The ports the worker listens on (tcp6 [::]:port each); default [5665]. */
  workerPorts?: number[];
  /** The ports the umbrella listens on (tcp 0.0.0.0:port each); default none. */
  umbrellaPorts?: number[];
  /** The log's content; undefined: no log file in the daemon's root. */
  log?: string | undefined;
}

/**
 * The container: tini, the umbrella, its worker and the worker's spawn helper, with the log in
 * the umbrella's root (the one the harness reads through). The namespace's tables are the same
 * in each process: only the sockets among a process's own fds count as its ports.
 */
async function container(proc: string, options: TreeOptions = {}): Promise<void> {
  const workerPorts = options.workerPorts ?? [5665];
  const umbrellaPorts = options.umbrellaPorts ?? [];
  const tcp6 = TCP6_HEADER + workerPorts.map((port, i) => listen6(i, port, 31001 + i)).join('');
  const tcp = TCP_HEADER + umbrellaPorts.map((port, i) => listen4(i, port, 32001 + i)).join('') + ESTABLISHED;
  const net = { netns: NETNS, tcp, tcp6, fibTrie: FIB_TRIE };
  await fakeProcess(proc, {
    pid: TINI,
    ppid: 8040,
    comm: 'tini',
    argv: ['/usr/bin/tini', '--', '/entrypoint.sh'],
    startTicks: 2215100,
    ...net,
  });
  await fakeProcess(proc, {
    pid: UMBRELLA,
    ppid: TINI,
    comm: 'icinga2',
    argv: ICINGA_ARGV,
    startTicks: 2215300,
    exe: ICINGA2,
    fds: {
      '0': '/dev/null',
      '1': 'pipe:[30001]',
      ...Object.fromEntries(umbrellaPorts.map((_, i) => [`${3 + i}`, `socket:[${32001 + i}]`])),
    },
    ...net,
    ...(options.log !== undefined && { log: options.log }),
  });
  await fakeProcess(proc, {
    pid: WORKER,
    ppid: UMBRELLA,
    comm: 'icinga2',
    argv: ICINGA_ARGV,
    startTicks: 2215366,
    exe: ICINGA2,
    fds: {
      '0': '/dev/null',
      '9': 'socket:[31009]', // a peer's connection
      ...Object.fromEntries(workerPorts.map((_, i) => [`${10 + i}`, `socket:[${31001 + i}]`])),
    },
    ...net,
  });
  await fakeProcess(proc, {
    pid: SPAWN_HELPER,
    ppid: WORKER,
    comm: 'icinga2',
    argv: ICINGA_ARGV,
    startTicks: 2215370,
    exe: ICINGA2,
    ...net,
  });
}

const LOG_TEXT =
  "[2026-11-21 07:30:01 +0000] information/ApiListener: Started new listener on '[0.0.0.0]:5665'\n";

/** The whole of what findIcinga finds in the default container, given any of its pids. */
function expectedFound(proc: string) {
  return {
    umbrella: {
      pid: UMBRELLA,
      ppid: TINI,
      comm: 'icinga2',
      cmdline: ICINGA_ARGV,
      startTicks: 2215300,
      netns: NETNS,
      root: `${proc}/${UMBRELLA}/root`,
    },
    worker: {
      pid: WORKER,
      ppid: UMBRELLA,
      comm: 'icinga2',
      cmdline: ICINGA_ARGV,
      startTicks: 2215366,
      netns: NETNS,
      root: `${proc}/${WORKER}/root`,
    },
    cgroup: CGROUP,
    log: { inProcess: LOG, resolved: LOG, onHost: `${proc}/${UMBRELLA}/root${LOG}` },
    apiPort: 5665,
    addresses: ['172.19.0.3'],
    version: undefined,
    banner: '',
    openssl: undefined,
  };
}

t.test(
  'given the umbrella pid: the container found whole; nsenter fails on the fake pid, so no version',
  async (t) => {
    const proc = t.testdir();
    await container(proc, { log: LOG_TEXT });
    const found = await findIcinga({ pid: UMBRELLA }, proc);
    t.strictSame(found, expectedFound(proc));
    t.equal(found.version, undefined, 'nsenter against a pid no process has: no version');
    t.equal(found.banner, '', 'and no banner');
  },
);

t.test("given the worker's pid, or the spawn helper's: climbs to the umbrella", async (t) => {
  const proc = t.testdir();
  await container(proc, { log: LOG_TEXT });
  t.strictSame(await findIcinga({ pid: WORKER }, proc), expectedFound(proc), 'from the worker');
  t.strictSame(await findIcinga({ pid: SPAWN_HELPER }, proc), expectedFound(proc), 'from the spawn helper');
});

t.test("given tini's pid (the container's State.Pid): its one icinga2 child", async (t) => {
  const proc = t.testdir();
  await container(proc, { log: LOG_TEXT });
  // tini also runs a shell someone opened in the container: not icinga2, not counted.
  await fakeProcess(proc, { pid: PAST_PID_MAX + 9001, ppid: TINI, comm: 'bash', argv: ['bash'] });
  t.strictSame(await findIcinga({ pid: TINI }, proc), expectedFound(proc));
});

t.test("the worker is the umbrella's newest icinga2 child, never the worker's spawn helper", async (t) => {
  const proc = t.testdir();
  await container(proc, { log: LOG_TEXT });
  // A reload's old worker, still winding down: started before the current one, yet its pid is
  // higher (pids wrapped), so only the start time tells them apart.
  await fakeProcess(proc, {
    pid: PAST_PID_MAX + 9100,
    ppid: UMBRELLA,
    comm: 'icinga2',
    argv: ICINGA_ARGV,
    startTicks: 2215320,
  });
  // A non-icinga2 child of the umbrella, newest of all.
  await fakeProcess(proc, { pid: PAST_PID_MAX + 9200, ppid: UMBRELLA, comm: 'sh', startTicks: 2216000 });
  const found = await findIcinga({ pid: UMBRELLA }, proc);
  t.equal(found.worker.pid, WORKER);
  t.equal(found.umbrella.pid, UMBRELLA);
  t.equal((await workerOf(found.umbrella, proc)).pid, WORKER, 'workerOf says the same');
});

t.test(
  'workerOf: the umbrella itself when it has no icinga2 child (before 2.11, or between workers)',
  async (t) => {
    const proc = t.testdir();
    await fakeProcess(proc, { pid: TINI, ppid: 8040, comm: 'tini' });
    await fakeProcess(proc, {
      pid: UMBRELLA,
      ppid: TINI,
      comm: 'icinga2',
      argv: ICINGA_ARGV,
      startTicks: 2215300,
    });
    await fakeProcess(proc, {
      pid: PAST_PID_MAX + 9300,
      ppid: UMBRELLA,
      comm: 'check_ping',
      startTicks: 2216000,
    });
    const worker = await workerOf(
      {
        pid: UMBRELLA,
        ppid: TINI,
        comm: 'icinga2',
        cmdline: ICINGA_ARGV,
        startTicks: 2215300,
        netns: undefined,
        root: `${proc}/${UMBRELLA}/root`,
      },
      proc,
    );
    t.equal(worker.pid, UMBRELLA);
    t.equal(worker.startTicks, 2215300);
  },
);

t.test('an umbrella without a worker is found as its own worker, its own ports counted', async (t) => {
  const proc = t.testdir();
  await fakeProcess(proc, {
    pid: UMBRELLA,
    ppid: 1,
    comm: 'icinga2',
    argv: ICINGA_ARGV,
    fds: { '3': 'socket:[32001]' },
    tcp: TCP_HEADER + listen4(0, 5665, 32001),
    log: LOG_TEXT,
  });
  const found = await findIcinga({}, proc);
  t.equal(found.umbrella.pid, UMBRELLA);
  t.equal(found.worker.pid, UMBRELLA);
  t.equal(found.apiPort, 5665);
  t.strictSame(found.addresses, [], 'no fib_trie: no address');
});

t.test('a pid that is not icinga2 and has no icinga2 child: HH_USAGE naming its comm', async (t) => {
  const proc = t.testdir();
  await container(proc, { log: LOG_TEXT });
  await fakeProcess(proc, {
    pid: 4242,
    ppid: 1,
    comm: 'containerd-shim',
    argv: ['/usr/bin/containerd-shim-runc-v2'],
  });
  await t.rejects(findIcinga({ pid: 4242 }, proc), {
    code: 'HH_USAGE',
    message:
      /^Process 4242 is containerd-shim, not icinga2 \(nor the parent of one\)\. Give the daemon's pid: pgrep -o icinga2/,
  });
});

t.test('a process with two icinga2 children is not a starting point: which would it be?', async (t) => {
  const proc = t.testdir();
  await fakeProcess(proc, { pid: 1, ppid: 0, comm: 'systemd', argv: ['/sbin/init'] });
  await fakeProcess(proc, { pid: 500, ppid: 1, comm: 'icinga2', argv: ICINGA_ARGV });
  await fakeProcess(proc, { pid: 600, ppid: 1, comm: 'icinga2', argv: ICINGA_ARGV });
  await t.rejects(findIcinga({ pid: 1 }, proc), {
    code: 'HH_USAGE',
    message: /^Process 1 is systemd, not icinga2/,
  });
});

t.test('a vanished pid, or no pid at all: HH_USAGE', async (t) => {
  const proc = t.testdir();
  await container(proc, { log: LOG_TEXT });
  await t.rejects(findIcinga({ pid: 31337 }, proc), {
    code: 'HH_USAGE',
    message: /^No process 31337 runs here \(or it is not readable: run as root\)\.$/,
  });
  for (const pid of [0, -5, 1.5]) {
    await t.rejects(findIcinga({ pid }, proc), {
      code: 'HH_USAGE',
      message: new RegExp(`^--pid is a process id \\(a whole number from 1\\), not ${pid}\\.$`),
    });
  }
});

t.test('no pid, no icinga2 running: HH_USAGE "No icinga2"', async (t) => {
  const proc = t.testdir();
  await fakeProcess(proc, { pid: 1, ppid: 0, comm: 'systemd', argv: ['/sbin/init'] });
  await fakeProcess(proc, { pid: 700, ppid: 1, comm: 'sshd', argv: ['sshd: /usr/sbin/sshd -D'] });
  // A shell whose cmdline says icinga2: comm decides, not the command line.
  await fakeProcess(proc, { pid: 701, ppid: 700, comm: 'bash', argv: ['bash', '-c', 'icinga2 daemon'] });
  await t.rejects(findIcinga({}, proc), {
    code: 'HH_USAGE',
    message: /^No icinga2 daemon runs on this host \(nor in a container on it\)\. Start it, or give --pid\.$/,
  });
});

t.test('no pid, two umbrellas (two containers): HH_USAGE naming both pids', async (t) => {
  const proc = t.testdir();
  await container(proc, { log: LOG_TEXT });
  // A second container: its own tini, umbrella and worker.
  await fakeProcess(proc, { pid: PAST_PID_MAX + 12001, ppid: 8040, comm: 'tini' });
  await fakeProcess(proc, {
    pid: PAST_PID_MAX + 12050,
    ppid: PAST_PID_MAX + 12001,
    comm: 'icinga2',
    argv: ICINGA_ARGV,
  });
  await fakeProcess(proc, {
    pid: PAST_PID_MAX + 12080,
    ppid: PAST_PID_MAX + 12050,
    comm: 'icinga2',
    argv: ICINGA_ARGV,
  });
  await t.rejects(findIcinga({}, proc), {
    code: 'HH_USAGE',
    message: new RegExp(
      `^2 icinga2 daemons run here \\(pids ${UMBRELLA}, ${PAST_PID_MAX + 12050}\\): pick one with --pid\\.$`,
    ),
  });
  // Named, either one is found.
  t.equal((await findIcinga({ pid: UMBRELLA }, proc)).umbrella.pid, UMBRELLA);
});

t.test('no pid, one umbrella: found, its workers and spawn helper not counted as daemons', async (t) => {
  const proc = t.testdir();
  await container(proc, { log: LOG_TEXT });
  await fakeProcess(proc, { pid: 1, ppid: 0, comm: 'systemd', argv: ['/sbin/init'] });
  t.strictSame(await findIcinga({}, proc), expectedFound(proc));
});

t.test('an unreadable or missing log: HH_USAGE naming the path and --log', async (t) => {
  const proc = t.testdir();
  await container(proc);
  await t.rejects(findIcinga({ pid: UMBRELLA }, proc), {
    code: 'HH_USAGE',
    message: new RegExp(
      `^Cannot read icinga2's log /var/log/icinga2/icinga2\\.log \\(pid ${UMBRELLA}\\): ENOENT\\. Give the file its mainlog feature writes with --log PATH`,
    ),
  });
  await t.rejects(findIcinga({ pid: UMBRELLA, log: '/var/log/icinga2/other.log' }, proc), {
    code: 'HH_USAGE',
    message: /^Cannot read icinga2's log \/var\/log\/icinga2\/other\.log .*: ENOENT\. .*--log PATH/,
  });
  // A log the daemon writes elsewhere, named with --log: found through its root.
  await mkdir(`${proc}/${UMBRELLA}/root/srv/icinga`, { recursive: true });
  await writeFile(`${proc}/${UMBRELLA}/root/srv/icinga/main.log`, LOG_TEXT);
  t.strictSame((await findIcinga({ pid: UMBRELLA, log: '/srv/icinga/main.log' }, proc)).log, {
    inProcess: '/srv/icinga/main.log',
    resolved: '/srv/icinga/main.log',
    onHost: `${proc}/${UMBRELLA}/root/srv/icinga/main.log`,
  });
  // A directory where the log should be is no log to follow.
  await mkdir(`${proc}/${UMBRELLA}/root/srv/icinga/dir.log`, { recursive: true });
  await t.rejects(findIcinga({ pid: UMBRELLA, log: '/srv/icinga/dir.log' }, proc), {
    code: 'HH_USAGE',
    message: /not a regular file/,
  });
});

t.test('a log that cannot be read (a symlink loop in its place): HH_USAGE mentioning --log', async (t) => {
  const proc = t.testdir();
  await container(proc);
  // root reads past file modes; a link to itself stops root too.
  await mkdir(`${proc}/${UMBRELLA}/root/var/log/icinga2`, { recursive: true });
  await symlink('icinga2.log', `${proc}/${UMBRELLA}/root${LOG}`);
  await t.rejects(findIcinga({ pid: UMBRELLA }, proc), {
    code: 'HH_USAGE',
    message: new RegExp(
      `^Cannot read icinga2's log /var/log/icinga2/icinga2\\.log \\(pid ${UMBRELLA}\\): ELOOP\\. Give the file its mainlog feature writes with --log PATH \\(the path as the daemon sees it\\), or its unit with --journal, and run as root\\.$`,
    ),
  });
});

t.test('a relative --log: HH_USAGE', async (t) => {
  const proc = t.testdir();
  await container(proc, { log: LOG_TEXT });
  await t.rejects(findIcinga({ pid: UMBRELLA, log: 'var/log/icinga2/icinga2.log' }, proc), {
    code: 'HH_USAGE',
    message: /^--log is a path as the daemon sees it, from \/: not var\/log\/icinga2\/icinga2\.log\.$/,
  });
});

t.test('API port: 5665 among several, from the worker and the umbrella together', async (t) => {
  const proc = t.testdir();
  await container(proc, { log: LOG_TEXT, workerPorts: [8080, 5665, 9100], umbrellaPorts: [5666] });
  t.equal((await findIcinga({ pid: UMBRELLA }, proc)).apiPort, 5665);
});

t.test("API port: the one port, when it listens on one only (the umbrella's counts too)", async (t) => {
  // Two hosts' /proc side by side (t.testdir() empties its folder on each call: one call).
  const host = t.testdir();
  await container(`${host}/a`, { log: LOG_TEXT, workerPorts: [5667] });
  await container(`${host}/b`, { log: LOG_TEXT, workerPorts: [], umbrellaPorts: [7443] });
  t.equal((await findIcinga({ pid: UMBRELLA }, `${host}/a`)).apiPort, 5667, "the worker's one port");
  t.equal((await findIcinga({ pid: UMBRELLA }, `${host}/b`)).apiPort, 7443, "the umbrella's one port");
});

t.test('API port: several without 5665: HH_USAGE asking for --port', async (t) => {
  const proc = t.testdir();
  await container(proc, { log: LOG_TEXT, workerPorts: [8080, 5667] });
  await t.rejects(findIcinga({ pid: UMBRELLA }, proc), {
    code: 'HH_USAGE',
    message: new RegExp(
      `^icinga2 \\(pid ${UMBRELLA}\\) listens on ports 5667, 8080: give its API port with --port\\.$`,
    ),
  });
  t.equal((await findIcinga({ pid: UMBRELLA, port: 8080 }, proc)).apiPort, 8080, '--port picks one');
});

t.test('API port: none: HH_USAGE mentioning the api feature', async (t) => {
  const proc = t.testdir();
  await container(proc, { log: LOG_TEXT, workerPorts: [] });
  await t.rejects(findIcinga({ pid: UMBRELLA }, proc), {
    code: 'HH_USAGE',
    message: new RegExp(
      `^icinga2 \\(pid ${UMBRELLA}\\) listens on no TCP port: is its api feature enabled\\? Give the port its peers use with --port\\.$`,
    ),
  });
  t.equal(
    (await findIcinga({ pid: UMBRELLA, port: 5665 }, proc)).apiPort,
    5665,
    'an explicit port is taken as given',
  );
});

t.test('API port: an explicit port out of range: HH_USAGE', async (t) => {
  const proc = t.testdir();
  await container(proc, { log: LOG_TEXT });
  for (const port of [0, 65_536, 70_000, -1, 5665.5]) {
    await t.rejects(findIcinga({ pid: UMBRELLA, port }, proc), {
      code: 'HH_USAGE',
      message: new RegExp(`^--port is a TCP port \\(1 to 65535\\), not ${port}\\.$`),
    });
  }
  t.equal(
    (await findIcinga({ pid: UMBRELLA, port: 65_535 }, proc)).apiPort,
    65_535,
    'the highest port is one',
  );
  t.equal((await findIcinga({ pid: UMBRELLA, port: 1 }, proc)).apiPort, 1, 'the lowest too');
});

t.test('cgroup: the v2 line, or the first v1 line that places it somewhere', async (t) => {
  const proc = t.testdir();
  await fakeProcess(proc, { pid: 10, ppid: 1, comm: 'icinga2', cgroup: '0::/docker/2b17b3\n' });
  await fakeProcess(proc, {
    pid: 11,
    ppid: 1,
    comm: 'icinga2',
    cgroup:
      '12:pids:/system.slice/icinga2.service\n1:name=systemd:/system.slice/icinga2.service\n0::/system.slice/icinga2.service\n',
  });
  await fakeProcess(proc, {
    pid: 12,
    ppid: 1,
    comm: 'icinga2',
    cgroup: '11:memory:/docker/c0ffee\n10:cpu,cpuacct:/docker/c0ffee\n',
  });
  t.equal(await cgroupOf(10, proc), '/docker/2b17b3');
  t.equal(await cgroupOf(11, proc), '/system.slice/icinga2.service');
  t.equal(await cgroupOf(12, proc), '/docker/c0ffee');
  // A hybrid host: the unified line is "/" for every process; the v1 hierarchy tells them apart.
  await fakeProcess(proc, {
    pid: 14,
    ppid: 1,
    comm: 'icinga2',
    cgroup: '1:name=systemd:/docker/beef\n0::/\n',
  });
  t.equal(await cgroupOf(14, proc), '/docker/beef', 'a unified "/" is no place: the v1 one is');
  await fakeProcess(proc, { pid: 15, ppid: 1, comm: 'icinga2', cgroup: '0::/\n' });
  t.equal(await cgroupOf(15, proc), '/', 'nowhere else: the root');
  await t.rejects(cgroupOf(13, proc), { code: 'ENOENT' }, 'a vanished process: the read fails');
});

t.test("addresses: the namespace's own from fib_trie, loopback left out", async (t) => {
  const proc = t.testdir();
  await container(proc, { log: LOG_TEXT });
  // The umbrella's namespace also has a second network (docker network connect).
  await writeFile(
    `${proc}/${UMBRELLA}/net/fib_trie`,
    FIB_TRIE.replaceAll(
      '     +-- 172.19.0.0/16 2 0 2\n',
      '     |-- 10.20.0.7\n        /32 host LOCAL\n     +-- 172.19.0.0/16 2 0 2\n',
    ),
  );
  t.strictSame((await findIcinga({ pid: UMBRELLA }, proc)).addresses, ['10.20.0.7', '172.19.0.3']);
});

t.test(
  'umbrellaIn: after a restart, the new umbrella in the same cgroup; workers and other cgroups skipped',
  async (t) => {
    const proc = t.testdir();
    // Another container's daemon, with lower pids: listed before this one's.
    const other = '/docker/9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0';
    await fakeProcess(proc, { pid: 101, ppid: 8040, comm: 'tini', cgroup: `0::${other}\n` });
    await fakeProcess(proc, {
      pid: 102,
      ppid: 101,
      comm: 'icinga2',
      argv: ICINGA_ARGV,
      cgroup: `0::${other}\n`,
    });
    await fakeProcess(proc, {
      pid: 103,
      ppid: 102,
      comm: 'icinga2',
      argv: ICINGA_ARGV,
      cgroup: `0::${other}\n`,
    });
    await container(proc, { log: LOG_TEXT });
    t.equal((await umbrellaIn(CGROUP, proc))?.pid, UMBRELLA, 'before the restart: the umbrella');
    t.equal((await umbrellaIn(other, proc))?.pid, 102, "the other container's umbrella is its own");

    // docker restart: the old processes gone; new ones with new pids in the same cgroup. The new
    // worker's pid is lower than the new umbrella's (pids wrapped): listed first, and skipped.
    for (const pid of [TINI, UMBRELLA, WORKER, SPAWN_HELPER]) await rm(`${proc}/${pid}`, { recursive: true });
    t.equal(await umbrellaIn(CGROUP, proc), undefined, 'between the old daemon and the new: none');
    // Someone validates the config meanwhile (docker exec ... icinga2 daemon -C): no daemon.
    await fakeProcess(proc, { pid: 190, ppid: 8040, comm: 'icinga2', argv: [...ICINGA_ARGV, '-C'] });
    await fakeProcess(proc, { pid: 191, ppid: 8040, comm: 'icinga2', argv: [ICINGA2, 'feature', 'list'] });
    t.equal(
      await umbrellaIn(CGROUP, proc),
      undefined,
      'a passing icinga2 -C or feature list is not the daemon',
    );
    t.equal(await umbrellaIn('/', proc), undefined, 'a cgroup of / names nothing to follow');
    await fakeProcess(proc, { pid: 200, ppid: 8040, comm: 'tini', startTicks: 2300000 });
    await fakeProcess(proc, { pid: 205, ppid: 210, comm: 'icinga2', argv: ICINGA_ARGV, startTicks: 2300060 });
    await fakeProcess(proc, { pid: 210, ppid: 200, comm: 'icinga2', argv: ICINGA_ARGV, startTicks: 2300050 });
    const next = await umbrellaIn(CGROUP, proc);
    t.equal(next?.pid, 210);
    t.equal(next?.startTicks, 2300050);
    t.equal(next?.root, `${proc}/210/root`);
    t.equal(next && (await workerOf(next, proc)).pid, 205, "and its worker is the new one's");
    t.equal((await umbrellaIn(other, proc))?.pid, 102, 'the other container untouched');
    t.equal(await umbrellaIn('/docker/gone', proc), undefined, 'no daemon in a cgroup that holds none');
  },
);

t.test(
  'umbrellaIn: a daemon stopped between restarts is not found; a vanished cgroup file is skipped',
  async (t) => {
    const proc = t.testdir();
    await fakeProcess(proc, { pid: 1, ppid: 0, comm: 'systemd' });
    await fakeProcess(proc, { pid: 50, ppid: 1, comm: 'icinga2', argv: ICINGA_ARGV });
    await rm(`${proc}/50/cgroup`); // exited after its stat was read
    await fakeProcess(proc, { pid: 60, ppid: 1, comm: 'icinga2', argv: ICINGA_ARGV });
    t.equal((await umbrellaIn(CGROUP, proc))?.pid, 60);
    await rm(`${proc}/60`, { recursive: true });
    t.equal(await umbrellaIn(CGROUP, proc), undefined);
  },
);

t.test("listenerOf: the worker that holds the port's listener, else the umbrella, else none", async (t) => {
  const withWorker = t.testdir();
  await container(withWorker);
  const umbrellaOf = async (proc: string) => (await readHostProcess(UMBRELLA, proc)) as HostProcess;
  t.equal(await listenerOf(await umbrellaOf(withWorker), 5665, withWorker), WORKER);
  t.equal(
    await listenerOf(await umbrellaOf(withWorker), 5666, withWorker),
    undefined,
    'no one on another port',
  );
  const umbrellaOnly = t.testdir();
  await container(umbrellaOnly, { workerPorts: [], umbrellaPorts: [5665] });
  t.equal(await listenerOf(await umbrellaOf(umbrellaOnly), 5665, umbrellaOnly), UMBRELLA);
});

t.test(
  '--journal: the unit checked in the journal below the daemon’s root, no log file looked for',
  async (t) => {
    const proc = t.testdir();
    await container(proc);
    const journal = await fakeJournalctl(t, `${proc}/journalctl`);
    await writeFile(`${journal}/check.out`, 'Dec 07 00:53:04 host icinga2[155]: started\n');
    const found = await findIcinga({ pid: UMBRELLA, journal: 'icinga2.service' }, proc);
    t.same(found.journal, { unit: 'icinga2.service' });
    t.equal(found.log, undefined, 'no main log: there is none in this root');
    t.match(describeFound(found, 'master'), { log: null, journal: 'icinga2.service' });
    t.match(
      await readFile(`${journal}/args.log`, 'utf8'),
      `--no-pager --root ${proc}/${UMBRELLA}/root _SYSTEMD_UNIT=icinga2.service --lines 1 --quiet`,
    );
  },
);
