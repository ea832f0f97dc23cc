import { spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { ensureHostTools } from '../engine/host-tools.ts';
import { silentProgress } from '../progress.ts';
import { dumpCore } from './core-dump.ts';

// gdb's gcore: installed here as hunt doctor installs tcpdump (the unit tests run as root).
await ensureHostTools(['gdb'], silentProgress);

t.test('a core of a running process: root-only, and the process runs on', async (t) => {
  const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
  t.teardown(() => sleeper.kill('SIGKILL'));
  const pid = sleeper.pid as number;
  const dir = join(t.testdir(), 'cores');
  const core = await dumpCore(pid, join(dir, '001-master'));
  t.equal(core.path, join(dir, `001-master.${pid}`));
  t.ok(core.bytes > 0, `a core of ${core.bytes} bytes`);
  t.equal((await stat(core.path)).mode & 0o777, 0o600, 'the core: mode 0600');
  t.equal((await stat(dir)).mode & 0o777, 0o700, 'its folder: mode 0700');
  t.equal(sleeper.exitCode, null, 'the process was let go, not killed');
  process.kill(pid, 0);
});

t.test('a process that does not exist: a clear error', async (t) => {
  await t.rejects(dumpCore(2 ** 22 + 7, join(t.testdir(), 'x')), {
    code: 'HH_CAPTURE_TOOL',
    message: /gcore could not write a core of process 4194311/,
  });
});
