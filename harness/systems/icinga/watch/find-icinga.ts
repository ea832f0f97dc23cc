import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, readFile, readlink, stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import { ErrorCodes, HuntError } from '../../../errors.ts';
import {
  childrenOf,
  type HostProcess,
  listeningTcpPorts,
  listHostProcesses,
  namespaceAddresses,
  readHostProcess,
} from '../../../seam/host-process.ts';
import { checkJournal } from '../../../seam/journal-follower.ts';
import { parseIcingaVersion, parseOpensslVersion } from '../images/catalogue.ts';

/** Where Debian's, Icinga's and the harness's packages log (mainlog feature). */
export const DEFAULT_ICINGA_LOG = '/var/log/icinga2/icinga2.log';
/** Icinga's API port unless the ApiListener says otherwise. */
const DEFAULT_API_PORT = 5665;
/** `icinga2 --version` in the daemon's own file system: its banner and OpenSSL line. */
const VERSION_TIMEOUT_MS = 15_000;

export interface FoundIcinga {
  /** The daemon's first process (since 2.11 the umbrella that starts a worker per reload). */
  umbrella: HostProcess;
  /** The worker serving now; the umbrella itself on versions before 2.11. */
  worker: HostProcess;
  /** The control group both live in: a restart stays in it (systemd's unit, a container). */
  cgroup: string;
  /**
   * The log as the daemon names it, its path with every symlink resolved in the daemon's file
   * system, and where the harness reads it (that path through the daemon's root).
   */
  log?: { inProcess: string; resolved: string; onHost: string };
  /** Or, with --journal, the systemd unit whose journal entries are its log (read below its root). */
  journal?: { unit: string };
  /** The key log the daemon writes through the key-log shim (--keylog), found the same way. */
  keylog?: { inProcess: string; resolved: string; onHost: string };
  apiPort: number;
  /** IPv4 addresses of the daemon's network namespace, loopback left out. */
  addresses: string[];
  /** From `icinga2 --version` run in the daemon's file system; undefined where it failed. */
  version: string | undefined;
  banner: string;
  openssl: string | undefined;
}

export interface FindOptions {
  /** The daemon's pid, or a process whose child it is (a container's init). */
  pid?: number;
  /** Its log as it sees it (default /var/log/icinga2/icinga2.log). */
  log?: string;
  /** Or the systemd unit whose journal holds its log (the syslog feature, or journald from 2.14). */
  journal?: string;
  /** Its API port, where it listens on several. */
  port?: number;
  /** The key log it writes with the key-log shim (HH_KEYLOG_FILE), as it sees it. */
  keylog?: string;
}

const isIcinga = (p: HostProcess) => p.comm === 'icinga2';

/**
 * Finds a running Icinga 2 on this host (on the host itself or in any container: /proc sees
 * both): its umbrella and worker, log, API port, addresses and version. Bad input is HH_USAGE
 * with what to do; nothing is started.
 */
export async function findIcinga(options: FindOptions = {}, proc = '/proc'): Promise<FoundIcinga> {
  const umbrella = await umbrellaOf(await startingPoint(options.pid, proc), proc);
  const worker = await workerOf(umbrella, proc);
  const journal = options.journal === undefined ? undefined : { unit: options.journal };
  if (journal) await checkJournal({ root: umbrella.root, unit: journal.unit });
  const log = journal ? undefined : await mainLogOf(umbrella, options.log ?? DEFAULT_ICINGA_LOG, proc);
  const keylog = options.keylog === undefined ? undefined : await keylogOf(umbrella, options.keylog, proc);
  const apiPort = await apiPortOf(umbrella, worker, options.port, proc);
  const identity = await versionOf(umbrella, proc);
  return {
    umbrella,
    worker,
    cgroup: await cgroupOf(umbrella.pid, proc),
    ...(log && { log }),
    ...(journal && { journal }),
    ...(keylog && { keylog }),
    apiPort,
    addresses: await namespaceAddresses(umbrella.pid, proc),
    ...identity,
  };
}

/** What was found, as run.json and `hunt watch --dry-run --json` say it. */
export function describeFound(found: FoundIcinga, name: string): Record<string, unknown> {
  return {
    node: name,
    pid: found.umbrella.pid,
    workerPid: found.worker.pid,
    version: found.version ?? null,
    banner: found.banner,
    openssl: found.openssl ?? null,
    log: found.log?.inProcess ?? null,
    journal: found.journal?.unit ?? null,
    keylog: found.keylog?.inProcess ?? null,
    apiPort: found.apiPort,
    addresses: found.addresses,
    netns: found.umbrella.netns ?? null,
    cgroup: found.cgroup,
  };
}

/** The main log the daemon writes (its mainlog feature), read through its root. */
function mainLogOf(umbrella: HostProcess, inProcess: string, proc: string) {
  checkLogOption(inProcess);
  return daemonFile(
    umbrella,
    inProcess,
    proc,
    (why) =>
      new HuntError(
        ErrorCodes.USAGE,
        `Cannot read icinga2's log ${inProcess} (pid ${umbrella.pid}): ${why}. ` +
          'Give the file its mainlog feature writes with --log PATH (the path as the daemon sees it), or its unit with --journal, and run as root.',
      ),
  );
}

/** --log: a path as the daemon sees it; HH_USAGE before anything is looked for. */
export function checkLogOption(path: string): void {
  if (!path.startsWith('/'))
    throw new HuntError(ErrorCodes.USAGE, `--log is a path as the daemon sees it, from /: not ${path}.`);
}

/**
 * --keylog: the file the daemon's key-log shim appends its TLS secrets to, read through its root
 * as the log is. It must exist (the shim creates it with the daemon's first handshake).
 */
async function keylogOf(umbrella: HostProcess, inProcess: string, proc: string) {
  if (!inProcess.startsWith('/'))
    throw new HuntError(
      ErrorCodes.USAGE,
      `--keylog is a path as the daemon sees it, from /: not ${inProcess}.`,
    );
  return daemonFile(
    umbrella,
    inProcess,
    proc,
    () =>
      new HuntError(
        ErrorCodes.USAGE,
        `icinga2 (pid ${umbrella.pid}) has no key log at ${inProcess}: is it running with the key-log shim ` +
          '(LD_PRELOAD and HH_KEYLOG_FILE, see docs/commands/watch.md), and has it made a handshake since it started?',
      ),
  );
}

/**
 * A regular file the daemon names, as it sees it: resolved in its own file system (a symlink
 * there, /var/log/icinga2 -> /data/..., must not be read against the host's root through
 * /proc/PID/root) and readable through its root. `cannot(why)` is the error where it is not.
 */
async function daemonFile(
  umbrella: HostProcess,
  inProcess: string,
  proc: string,
  cannot: (why: string) => HuntError,
): Promise<{ inProcess: string; resolved: string; onHost: string }> {
  const resolved = await resolveInDaemon(umbrella.pid, inProcess, proc);
  const onHost = `${umbrella.root}${resolved}`;
  await access(onHost, constants.R_OK).catch((error: NodeJS.ErrnoException) => {
    throw cannot(error.code ?? error.message);
  });
  if (!(await stat(onHost)).isFile()) throw cannot('not a regular file (a log to follow must be one)');
  return { inProcess, resolved, onHost };
}

/** A path with its symlinks resolved in the daemon's mount namespace; as given where that fails. */
async function resolveInDaemon(pid: number, path: string, proc: string): Promise<string> {
  const resolved = await promisify(execFile)(
    'nsenter',
    [`--mount=${proc}/${pid}/ns/mnt`, '--', 'readlink', '-f', path],
    { timeout: VERSION_TIMEOUT_MS, encoding: 'utf8' },
  ).then(
    ({ stdout }) => stdout.trim(),
    () => '',
  );
  return resolved.startsWith('/') ? resolved : path;
}

/** The newest icinga2 child of the umbrella, or the umbrella (before 2.11, or between workers). */
export async function workerOf(umbrella: HostProcess, proc = '/proc'): Promise<HostProcess> {
  return (await workersOf(umbrella, proc))[0] ?? umbrella;
}

/** The umbrella's icinga2 children, newest first: its worker, and during a reload the next one. */
export async function workersOf(umbrella: HostProcess, proc = '/proc'): Promise<HostProcess[]> {
  return (await childrenOf(umbrella.pid, proc)).filter(isIcinga).sort((a, b) => b.startTicks - a.startTicks);
}

/**
 * The icinga2 process that holds the listener on `port`, if one does: the newest of the
 * umbrella's icinga2 children that listens there (in a reload the old worker and the new may
 * overlap), else the umbrella itself (a daemon that runs no worker).
 */
export async function listenerOf(
  umbrella: HostProcess,
  port: number,
  proc = '/proc',
  workers?: readonly HostProcess[],
): Promise<number | undefined> {
  for (const candidate of [...(workers ?? (await workersOf(umbrella, proc))), umbrella])
    if ((await listeningTcpPorts(candidate.pid, proc)).includes(port)) return candidate.pid;
  return undefined;
}

/**
 * The icinga2 daemon in this control group now (after a restart: a new pid), if one runs: a
 * `daemon` umbrella, not a passing `icinga2 daemon -C` or `feature list` run beside it. A group
 * of `/` names no unit or container: nothing is followed there.
 */
export async function umbrellaIn(cgroup: string, proc = '/proc'): Promise<HostProcess | undefined> {
  if (cgroup === '/') return undefined;
  const isDaemon = (p: HostProcess) =>
    p.cmdline.includes('daemon') && !p.cmdline.some((arg) => arg === '-C' || arg === '--validate');
  for (const candidate of (await listHostProcesses(proc)).filter((p) => isIcinga(p) && isDaemon(p))) {
    const parent = await readHostProcess(candidate.ppid, proc);
    if (parent && isIcinga(parent)) continue;
    if ((await cgroupOf(candidate.pid, proc).catch(() => '')) === cgroup) return candidate;
  }
  return undefined;
}

async function startingPoint(pid: number | undefined, proc: string): Promise<HostProcess> {
  if (pid !== undefined) {
    if (!Number.isSafeInteger(pid) || pid < 1)
      throw new HuntError(ErrorCodes.USAGE, `--pid is a process id (a whole number from 1), not ${pid}.`);
    const named = await readHostProcess(pid, proc);
    if (!named)
      throw new HuntError(
        ErrorCodes.USAGE,
        `No process ${pid} runs here (or it is not readable: run as root).`,
      );
    if (isIcinga(named)) return named;
    const icingaChildren = (await childrenOf(pid, proc)).filter(isIcinga);
    if (icingaChildren.length === 1) return icingaChildren[0] as HostProcess;
    throw new HuntError(
      ErrorCodes.USAGE,
      `Process ${pid} is ${named.comm}, not icinga2 (nor the parent of one). Give the daemon's pid: pgrep -o icinga2, or a container's State.Pid.`,
    );
  }
  const umbrellas: HostProcess[] = [];
  for (const candidate of (await listHostProcesses(proc)).filter(isIcinga)) {
    const parent = await readHostProcess(candidate.ppid, proc);
    if (!parent || !isIcinga(parent)) umbrellas.push(candidate);
  }
  if (umbrellas.length === 0)
    throw new HuntError(
      ErrorCodes.USAGE,
      'No icinga2 daemon runs on this host (nor in a container on it). Start it, or give --pid.',
    );
  if (umbrellas.length > 1)
    throw new HuntError(
      ErrorCodes.USAGE,
      `${umbrellas.length} icinga2 daemons run here (pids ${umbrellas.map((p) => p.pid).join(', ')}): pick one with --pid.`,
    );
  return umbrellas[0] as HostProcess;
}

async function umbrellaOf(process: HostProcess, proc: string): Promise<HostProcess> {
  let current = process;
  // Bounded: a worker's parent is the umbrella; nothing nests deeper.
  for (let depth = 0; depth < 4; depth++) {
    const parent = await readHostProcess(current.ppid, proc);
    if (!parent || !isIcinga(parent)) return current;
    current = parent;
  }
  return current;
}

async function apiPortOf(
  umbrella: HostProcess,
  worker: HostProcess,
  port: number | undefined,
  proc: string,
): Promise<number> {
  if (port !== undefined) {
    if (!Number.isSafeInteger(port) || port < 1 || port > 65_535)
      throw new HuntError(ErrorCodes.USAGE, `--port is a TCP port (1 to 65535), not ${port}.`);
    return port;
  }
  const ports = [
    ...new Set([
      ...(await listeningTcpPorts(worker.pid, proc)),
      ...(await listeningTcpPorts(umbrella.pid, proc)),
    ]),
  ];
  if (ports.includes(DEFAULT_API_PORT)) return DEFAULT_API_PORT;
  if (ports.length === 1) return ports[0] as number;
  throw new HuntError(
    ErrorCodes.USAGE,
    ports.length === 0
      ? `icinga2 (pid ${umbrella.pid}) listens on no TCP port: is its api feature enabled? Give the port its peers use with --port.`
      : `icinga2 (pid ${umbrella.pid}) listens on ports ${ports.join(', ')}: give its API port with --port.`,
  );
}

async function versionOf(
  umbrella: HostProcess,
  proc: string,
): Promise<{ version: string | undefined; banner: string; openssl: string | undefined }> {
  const exe = (await readlink(`${proc}/${umbrella.pid}/exe`).catch(() => '')).replace(/ \(deleted\)$/, '');
  if (!exe) return { version: undefined, banner: '', openssl: undefined };
  // The daemon's own binary and libraries, in its mount namespace: a container's OpenSSL, not
  // the host's. Its pid namespace too: icinga2 reads /proc/self, which is the container's /proc.
  const run = (command: string[]) =>
    promisify(execFile)('nsenter', [`--target=${umbrella.pid}`, '--mount', '--pid', '--', ...command], {
      timeout: VERSION_TIMEOUT_MS,
      encoding: 'utf8',
    }).then(
      ({ stdout, stderr }) => stdout + stderr,
      () => '',
    );
  const output = await run([exe, '--version']);
  const banner = output.split('\n').find((line) => line.trim() !== '') ?? '';
  const openssl = parseOpensslVersion(output) ?? parseOpensslVersion(await run(['openssl', 'version']));
  return { version: parseIcingaVersion(output), banner: banner.trim(), openssl };
}

/**
 * The process's control group: cgroup v2's line, or on a hybrid host (where that line is `/` for
 * every process) the first v1 hierarchy that places it somewhere. `/` where none does.
 */
export async function cgroupOf(pid: number, proc = '/proc'): Promise<string> {
  const paths = (await readFile(`${proc}/${pid}/cgroup`, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((line) => ({
      v2: line.startsWith('0::'),
      path: line.slice(line.indexOf(':', line.indexOf(':') + 1) + 1),
    }));
  const placed = paths.filter((entry) => entry.path !== '/' && entry.path !== '');
  return (placed.find((entry) => entry.v2) ?? placed[0])?.path ?? '/';
}
