import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { basename } from 'node:path';
import t from 'tap';
import { eventually } from '../test-kits/eventually.ts';
import { fakeProcess } from '../test-kits/fake-proc.ts';
import {
  childrenOf,
  listeningTcpPorts,
  listHostProcesses,
  namespaceAddresses,
  readHostProcess,
} from './host-process.ts';

const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:1621 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1001 1 000000001820221f 100 0 0 10 0
   1: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2001 1 000000003a1b2c3d 100 0 0 10 0
   2: 0100007F:1621 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1004 1 00000000a1b2c3d4 100 0 0 10 0
   3: 010013AC:89D0 030013AC:1621 01 00000000:00000000 00:00000000 00000000     0        0 1002 1 000000002d4ad12d 20 4 28 14 -1
   4: 0100007F:1F40 00000000:0000 06 00000000:00000000 03:00000B9C 00000000     0        0 1005 1 00000000b2c3d4e5 20 4 28 14 -1
`;

const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1003 1 00000000c3d4e5f6 100 0 0 10 0
   1: 00000000000000000000000000000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2002 1 00000000d4e5f6a7 100 0 0 10 0
   2: 0000000000000000FFFF00000100007F:A2F4 0000000000000000FFFF00000100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 1006 1 00000000e5f6a7b8 20 4 30 10 -1
`;

const FIB_TRIE = `Main:
  +-- 0.0.0.0/0 3 0 5
     |-- 0.0.0.0
        /0 universe UNICAST
     |-- 9.1.2.3
        /32 host LOCAL
     +-- 127.0.0.0/8 2 0 2
        +-- 127.0.0.0/31 1 0 0
           |-- 127.0.0.0
              /8 host LOCAL
           |-- 127.0.0.1
              /32 host LOCAL
        |-- 127.255.255.255
           /32 link BROADCAST
     +-- 172.16.0.0/14 3 0 4
        +-- 172.19.0.0/29 2 0 2
           |-- 172.19.0.0
              /16 link UNICAST
           |-- 172.19.0.3
              /32 host LOCAL
        |-- 172.19.255.255
           /32 link BROADCAST
     +-- 10.0.0.0/24 2 0 2
        +-- 10.0.0.0/29 2 0 2
           |-- 10.0.0.0
              /24 link UNICAST
           |-- 10.0.0.5
              /32 host LOCAL
        |-- 10.0.0.255
           /32 link BROADCAST
Local:
  +-- 0.0.0.0/0 3 0 5
     |-- 0.0.0.0
        /0 universe UNICAST
     |-- 9.1.2.3
        /32 host LOCAL
     +-- 127.0.0.0/8 2 0 2
        +-- 127.0.0.0/31 1 0 0
           |-- 127.0.0.0
              /8 host LOCAL
           |-- 127.0.0.1
              /32 host LOCAL
        |-- 127.255.255.255
           /32 link BROADCAST
     +-- 172.16.0.0/14 3 0 4
        +-- 172.19.0.0/29 2 0 2
           |-- 172.19.0.0
              /16 link UNICAST
           |-- 172.19.0.3
              /32 host LOCAL
        |-- 172.19.255.255
           /32 link BROADCAST
     +-- 10.0.0.0/24 2 0 2
        +-- 10.0.0.0/29 2 0 2
           |-- 10.0.0.0
              /24 link UNICAST
           |-- 10.0.0.5
              /32 host LOCAL
        |-- 10.0.0.255
           /32 link BROADCAST
`;

t.test(
  'reads a process: comm with spaces and ")", cmdline split on NUL, start ticks, netns, root',
  async (t) => {
    const proc = t.testdir();
    await fakeProcess(proc, {
      pid: 4242,
      ppid: 1,
      comm: 'icinga2 (w) x)',
      argv: ['/usr/lib/x86_64-linux-gnu/icinga2/sbin/icinga2', '--no-stack-rlimit', 'daemon', '-e', ''],
      startTicks: 98765432,
      netns: 'net:[4026531992]',
    });
    t.strictSame(await readHostProcess(4242, proc), {
      pid: 4242,
      ppid: 1,
      comm: 'icinga2 (w) x)',
      cmdline: ['/usr/lib/x86_64-linux-gnu/icinga2/sbin/icinga2', '--no-stack-rlimit', 'daemon', '-e', ''],
      startTicks: 98765432,
      netns: 'net:[4026531992]',
      root: `${proc}/4242/root`,
    });
  },
);

t.test('a kernel thread has an empty cmdline; an unreadable netns is undefined', async (t) => {
  const proc = t.testdir();
  await fakeProcess(proc, { pid: 2, ppid: 0, comm: 'kthreadd', startTicks: 0 });
  const p = await readHostProcess(2, proc);
  t.strictSame(p?.cmdline, []);
  t.equal(p?.comm, 'kthreadd');
  t.equal(p?.ppid, 0);
  t.equal(p?.startTicks, 0);
  t.equal(p?.netns, undefined);
});

t.test('a vanished pid gives undefined, and is skipped when listing', async (t) => {
  const proc = t.testdir();
  await fakeProcess(proc, { pid: 10, ppid: 1, comm: 'init', argv: ['/sbin/init'] });
  await mkdir(`${proc}/77`); // listed, but the process exited before its stat was read
  await writeFile(`${proc}/meminfo`, 'MemTotal: 1 kB\n');
  await mkdir(`${proc}/self`);
  t.equal(await readHostProcess(99, proc), undefined);
  t.equal(await readHostProcess(77, proc), undefined);
  t.strictSame(
    (await listHostProcesses(proc)).map((p) => p.pid),
    [10],
  );
});

t.test('children: the processes whose parent is the pid, sorted by pid', async (t) => {
  const proc = t.testdir();
  await fakeProcess(proc, { pid: 1, ppid: 0, comm: 'systemd', argv: ['/sbin/init'] });
  await fakeProcess(proc, { pid: 500, ppid: 1, comm: 'icinga2', argv: ['icinga2', 'daemon'] });
  await fakeProcess(proc, { pid: 1234, ppid: 500, comm: 'icinga2', argv: ['icinga2', 'daemon'] });
  await fakeProcess(proc, { pid: 502, ppid: 500, comm: 'icinga2', argv: ['icinga2', 'daemon'] });
  await fakeProcess(proc, { pid: 900, ppid: 502, comm: 'check_ping', argv: ['check_ping'] });
  t.strictSame(
    (await childrenOf(500, proc)).map((p) => p.pid),
    [502, 1234],
  );
  t.strictSame(
    (await childrenOf(1, proc)).map((p) => p.pid),
    [500],
  );
  t.strictSame(await childrenOf(900, proc), []);
});

t.test("children from the kernel's own lists: a real shell's child, without a scan", async (t) => {
  // Its own process group, no pipes: the teardown kills the sleep too, and nothing holds the test open.
  const shell = spawn('sh', ['-c', 'sleep 30 & wait'], { stdio: 'ignore', detached: true });
  t.teardown(() => process.kill(-(shell.pid as number), 'SIGKILL'));
  await once(shell, 'spawn');
  // Until the fork has exec'd, the child is a copy of the shell: wait for it to be the sleep.
  const children = await eventually('the shell forked its sleep', async () => {
    const found = await childrenOf(shell.pid as number);
    return found.length === 1 && found[0]?.comm === 'sleep' && found;
  });
  t.match(children, [{ ppid: shell.pid, comm: 'sleep', cmdline: ['sleep', '30'] }]);
  // The kernel's lists in a fake /proc too: a child it lists is taken, one whose parent moved is not.
  const proc = t.testdir();
  await fakeProcess(proc, { pid: 500, ppid: 1, comm: 'icinga2', argv: ['icinga2', 'daemon'] });
  await fakeProcess(proc, { pid: 502, ppid: 500, comm: 'icinga2', argv: ['icinga2', 'daemon'] });
  await fakeProcess(proc, { pid: 503, ppid: 1, comm: 'icinga2', argv: ['icinga2', 'daemon'] });
  await mkdir(`${proc}/500/task/500`, { recursive: true });
  await writeFile(`${proc}/500/task/500/children`, '502 503 ');
  t.strictSame(
    (await childrenOf(500, proc)).map((p) => p.pid),
    [502],
  );
});

t.test('listening ports: only the process own sockets, only LISTEN, tcp6 included', async (t) => {
  const proc = t.testdir();
  await fakeProcess(proc, {
    pid: 300,
    ppid: 1,
    comm: 'icinga2',
    argv: ['icinga2', 'daemon'],
    fds: {
      '0': '/dev/null',
      '1': 'pipe:[555]',
      '3': 'socket:[1001]', // 0.0.0.0:5665 LISTEN
      '4': 'socket:[1002]', // established, local port 35280
      '5': 'socket:[1003]', // [::]:8080 LISTEN
      '6': 'socket:[1004]', // 127.0.0.1:5665 LISTEN: the same port again
      '7': 'socket:[1005]', // port 8000 in TIME_WAIT
      '8': 'socket:[1006]', // tcp6 established
      '9': 'anon_inode:[eventpoll]',
    },
    tcp: TCP,
    tcp6: TCP6,
  });
  // Same namespace tables, but none of the listening sockets are its own.
  await fakeProcess(proc, {
    pid: 301,
    ppid: 1,
    comm: 'sshd',
    fds: { '3': 'socket:[2001]', '4': 'socket:[9999]' },
    tcp: TCP,
    tcp6: TCP6,
  });
  await fakeProcess(proc, { pid: 302, ppid: 1, comm: 'sleep', fds: { '0': '/dev/null' }, tcp: TCP });
  t.strictSame(await listeningTcpPorts(300, proc), [5665, 8080]);
  t.strictSame(await listeningTcpPorts(301, proc), [22]);
  t.strictSame(await listeningTcpPorts(302, proc), []);
  t.strictSame(await listeningTcpPorts(303, proc), [], 'a vanished process listens on nothing');
});

t.test('a missing tcp6 table (no IPv6) still gives the IPv4 ports', async (t) => {
  const proc = t.testdir();
  await fakeProcess(proc, { pid: 40, ppid: 1, comm: 'x', fds: { '3': 'socket:[1001]' }, tcp: TCP });
  t.strictSame(await listeningTcpPorts(40, proc), [5665]);
});

t.test(
  'namespace addresses: the local /32 addresses from fib_trie, without 127.x, sorted unique',
  async (t) => {
    const proc = t.testdir();
    await fakeProcess(proc, { pid: 60, ppid: 1, comm: 'icinga2', fibTrie: FIB_TRIE });
    await fakeProcess(proc, { pid: 61, ppid: 1, comm: 'no-ipv4' });
    t.strictSame(await namespaceAddresses(60, proc), ['9.1.2.3', '10.0.0.5', '172.19.0.3']);
    t.strictSame(await namespaceAddresses(61, proc), []);
    t.strictSame(await namespaceAddresses(62, proc), []);
  },
);

t.test('a bad pid is a programming error: TypeError', async (t) => {
  for (const pid of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
    await t.rejects(readHostProcess(pid), TypeError, `readHostProcess(${pid})`);
    await t.rejects(childrenOf(pid), TypeError, `childrenOf(${pid})`);
    await t.rejects(listeningTcpPorts(pid), TypeError, `listeningTcpPorts(${pid})`);
    await t.rejects(namespaceAddresses(pid), TypeError, `namespaceAddresses(${pid})`);
  }
});

t.test('the real /proc: this test process and a port it listens on', async (t) => {
  const me = await readHostProcess(process.pid);
  t.equal(me?.pid, process.pid);
  t.equal(me?.ppid, process.ppid);
  // Node 24 names its main thread, and the leader thread's name is the process's comm.
  t.equal(me?.comm, 'MainThread');
  t.equal(me?.comm, (await readFile('/proc/self/comm', 'utf8')).trimEnd());
  t.equal(me?.cmdline[0], process.argv0);
  t.equal(basename(process.execPath), 'node');
  t.equal(me?.root, `/proc/${process.pid}/root`);
  t.equal(me?.netns, await readlink('/proc/self/ns/net'));
  t.ok((me?.startTicks ?? 0) > 0, 'started some ticks after boot');
  t.equal(
    (await readHostProcess(process.pid))?.startTicks,
    me?.startTicks,
    'the same process reads the same',
  );
  t.ok(
    (await listHostProcesses()).some((p) => p.pid === process.pid),
    'this process is in the list',
  );
  t.ok(
    (await childrenOf(process.ppid)).some((p) => p.pid === process.pid),
    "this process is among its parent's children",
  );

  const server: Server = createServer();
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  t.ok(port > 0, 'the server has a port');
  t.ok((await listeningTcpPorts(process.pid)).includes(port), `port ${port} is listed`);
});
