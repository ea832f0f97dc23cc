import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFile, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { readHostProcess } from '../../seam/host-process.ts';
import { eventually } from '../../test-kits/eventually.ts';
import { huntInProcess } from '../../test-kits/hunt-in-process.ts';

/**
 * `hunt watch` refuses bad input with exit 2 before it starts anything: nothing is written to
 * the results folder. hunt watch needs root (it reads another process through /proc), as these
 * tests do.
 */

interface Refusal {
  code: number;
  error: { code: string; message: string } | undefined;
  /** What the results folder holds afterwards. */
  results: string[];
}

const bases = new WeakMap<Test, string>();

/**
 * A new empty folder in the test's own: t.testdir() empties that folder on each call, so it is
 * called once a test and everything else (the daemon's files, each results folder) lives in it.
 */
function freshDir(t: Test, prefix: string): Promise<string> {
  let base = bases.get(t);
  if (base === undefined) {
    base = t.testdir();
    bases.set(t, base);
  }
  return mkdtemp(join(base, prefix));
}

/** `hunt watch ARGS --json --results <an empty folder>`: the exit code, the error, the folder. */
async function watch(t: Test, argv: string[]): Promise<Refusal> {
  const results = await freshDir(t, 'results-');
  const { code, stdout } = await huntInProcess(['watch', ...argv, '--results', results, '--json']);
  const parsed = JSON.parse(stdout) as { error?: { code: string; message: string } };
  return {
    code,
    error: parsed.error && { code: parsed.error.code, message: parsed.error.message },
    results: await readdir(results),
  };
}

/**
 * A stand-in daemon whose comm is icinga2 (a copy of sleep by that name: the kernel names a
 * process after its executable), with a log the watch can read: enough for hunt watch to find
 * it and go on to the checks that follow finding.
 */
async function fakeIcinga(t: Test): Promise<{ pid: number; log: string }> {
  const dir = await freshDir(t, 'daemon-');
  await copyFile('/usr/bin/sleep', `${dir}/icinga2`);
  const log = `${dir}/icinga2.log`;
  await writeFile(log, '[2026-11-21 07:30:01 +0000] information/ApiListener: Started new listener\n');
  const child = spawn(`${dir}/icinga2`, ['30'], { stdio: 'ignore' });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  await once(child, 'spawn');
  const pid = child.pid as number;
  await eventually(`process ${pid} is icinga2`, async () => (await readHostProcess(pid))?.comm === 'icinga2');
  return { pid, log };
}

t.test('hunt watch --help: exit 0, the options listed', async (t) => {
  const { code, stdout } = await huntInProcess(['watch', '--help']);
  t.equal(code, 0);
  t.match(stdout, /^Usage: hunt watch /);
  for (const option of [
    '--pid <pid>',
    '--log <path>',
    '--port <port>',
    '--name <node>',
    '--dry-run',
    '--disk-cap <size>',
  ])
    t.ok(stdout.includes(`  ${option}`), `lists ${option}`);
});

t.test('--pid abc: exit 2, HH_USAGE', async (t) => {
  t.strictSame(await watch(t, ['--pid', 'abc']), {
    code: 2,
    error: { code: 'HH_USAGE', message: '--pid is a whole number, not "abc".' },
    results: [],
  });
  t.strictSame(await watch(t, ['--pid', '-3']), {
    code: 2,
    error: {
      code: 'HH_USAGE',
      message:
        '--pid must be a whole number, not "-3": hunt\'s numbers are never negative. See: hunt watch --help',
    },
    results: [],
  });
});

t.test('--pid of a process that is not icinga2 (nor its parent): exit 2, naming what it is', async (t) => {
  // A process of this test's own, not pid 1: on a host that runs icinga2 under systemd, pid 1 is
  // the parent of one.
  const other = spawn('sleep', ['30'], { stdio: 'ignore' });
  t.teardown(() => other.kill('SIGKILL'));
  await once(other, 'spawn');
  const refused = await watch(t, ['--pid', String(other.pid)]);
  t.equal(refused.code, 2);
  t.equal(refused.error?.code, 'HH_USAGE');
  t.equal(
    refused.error?.message,
    `Process ${other.pid} is sleep, not icinga2 (nor the parent of one). Give the daemon's pid: pgrep -o icinga2, or a container's State.Pid.`,
  );
  t.strictSame(refused.results, []);
});

t.test('--name BAD: exit 2', async (t) => {
  t.strictSame(await watch(t, ['--name', 'BAD', '--pid', '1']), {
    code: 2,
    error: {
      code: 'HH_USAGE',
      message: '--name is a short node name (lower-case letters, digits and -, from a letter), not "BAD".',
    },
    results: [],
  });
});

t.test('--dry-run --pid <this test>: exit 2, node is not icinga2', async (t) => {
  const comm = (await readFile('/proc/self/comm', 'utf8')).trimEnd();
  t.strictSame(await watch(t, ['--dry-run', '--pid', String(process.pid)]), {
    code: 2,
    error: {
      code: 'HH_USAGE',
      message: `Process ${process.pid} is ${comm}, not icinga2 (nor the parent of one). Give the daemon's pid: pgrep -o icinga2, or a container's State.Pid.`,
    },
    results: [],
  });
});

t.test('--disk-cap 5 (5 bytes): exit 2, before any daemon is looked for', async (t) => {
  const daemon = await fakeIcinga(t);
  const found = ['--pid', String(daemon.pid), '--log', daemon.log, '--port', '5665'];
  const tooSmall = {
    code: 2,
    error: {
      code: 'HH_USAGE',
      message:
        '--disk-cap must be at least 256MB (a capture ring, a history and a few incidents), not 5 bytes.',
    },
    results: [],
  };
  t.strictSame(await watch(t, [...found, '--disk-cap', '5']), tooSmall);
  t.strictSame(await watch(t, [...found, '--disk-cap', '5 TB']), {
    code: 2,
    error: { code: 'HH_USAGE', message: 'A size is a number with KB, MB or GB (25MB, 500KB), not "5 TB".' },
    results: [],
  });
  t.strictSame(
    await watch(t, ['--disk-cap', '5', '--pid', '999999999']),
    tooSmall,
    'the same refusal where no daemon could be found',
  );
});

t.test('--journal beside --log, or a unit name that is none: exit 2, nothing looked for', async (t) => {
  const nowhere = ['--pid', '999999999'];
  t.strictSame(
    await watch(t, [...nowhere, '--log', '/var/log/icinga2/icinga2.log', '--journal', 'icinga2']),
    {
      code: 2,
      error: {
        code: 'HH_USAGE',
        message: '--log and --journal both say where the daemon logs: give the one it writes to.',
      },
      results: [],
    },
  );
  t.strictSame(await watch(t, [...nowhere, '--journal', 'icinga2 --since=-1y']), {
    code: 2,
    error: {
      code: 'HH_USAGE',
      message: '--journal is a systemd unit (icinga2.service), not "icinga2 --since=-1y".',
    },
    results: [],
  });
});

t.test('--ring outside 8MB..half the disk cap: exit 2, before any daemon is looked for', async (t) => {
  const nowhere = ['--pid', '999999999'];
  t.strictSame(await watch(t, [...nowhere, '--ring', '2MB']), {
    code: 2,
    error: { code: 'HH_USAGE', message: '--ring must be at least 8MB (8 files of 1 MB), not 2000000 bytes.' },
    results: [],
  });
  t.strictSame(await watch(t, [...nowhere, '--disk-cap', '1GB', '--ring', '600MB']), {
    code: 2,
    error: {
      code: 'HH_USAGE',
      message:
        '--ring 600MB takes more than half of --disk-cap 1000MB: the rest holds the history, the logs and the incidents. Raise --disk-cap or lower --ring.',
    },
    results: [],
  });
});

t.test('--dry-run on a daemon it can watch: exit 0, what was found, and still nothing written', async (t) => {
  const daemon = await fakeIcinga(t);
  const results = await freshDir(t, 'results-');
  const { code, stdout } = await huntInProcess([
    'watch',
    '--dry-run',
    '--pid',
    String(daemon.pid),
    '--log',
    daemon.log,
    '--port',
    '5665',
    '--name',
    'master-1',
    '--disk-cap',
    '1GB',
    '--results',
    results,
    '--json',
  ]);
  t.equal(code, 0);
  const said = JSON.parse(stdout) as Record<string, unknown>;
  t.match(said, {
    node: 'master-1',
    pid: daemon.pid,
    workerPid: daemon.pid,
    version: null,
    log: daemon.log,
    apiPort: 5665,
    capture: 'on',
    caps: { diskCapBytes: 1_000_000_000 },
  });
  // The ring the run will use: a fifth of the cap for its one recorded node, in 8 files.
  t.strictSame(
    (said.caps as { ring: unknown }).ring,
    { files: 8, fileMb: 23 },
    'the ring as the watch sizes it',
  );
  const ringed = await huntInProcess([
    'watch',
    '--dry-run',
    '--pid',
    String(daemon.pid),
    '--log',
    daemon.log,
    '--port',
    '5665',
    '--ring',
    '512MB',
  ]);
  t.equal(ringed.code, 0);
  t.match(
    ringed.stdout,
    /the ring 8 x 64 MB,/,
    '--ring 512MB: 8 files of 64 million bytes (tcpdump -C counts so)',
  );
  t.match(said.banner, /^sleep \(GNU coreutils\)/, 'the banner is what its binary says to --version');
  t.equal(said.netns, (await readHostProcess(daemon.pid))?.netns);
  t.strictSame(await readdir(results), [], 'a dry run writes nothing');
});
