import { readdir, readFile, readlink } from 'node:fs/promises';

/**
 * A process on this host as /proc shows it. The harness watches daemons it did not start (icinga2
 * on a user's host, or inside some container), so it cannot hold a child handle: it reads /proc.
 */
export interface HostProcess {
  pid: number;
  ppid: number;
  /** The kernel's short name (comm), e.g. 'icinga2'. */
  comm: string;
  /** argv as the process sees it (NUL-separated in /proc/PID/cmdline); [] for kernel threads. */
  cmdline: string[];
  /** Field 22 of /proc/PID/stat (start time in clock ticks since boot): tells a reused pid apart. */
  startTicks: number;
  /** readlink of /proc/PID/ns/net, e.g. 'net:[4026531992]'; undefined if unreadable. */
  netns: string | undefined;
  /** `${proc}/${pid}/root`: the process's own file system as seen from the host. */
  root: string;
}

/** A busy host has a few thousand processes; the bound keeps a runaway /proc from eating memory. */
const MAX_ENTRIES = 100_000;

/** Reads at a time while listing: fast enough, without opening thousands of files at once. */
const READ_BATCH = 64;

/** A bad pid is a bug in the caller, not a vanished process: say so loudly. */
function checkPid(pid: number): void {
  if (!Number.isSafeInteger(pid) || pid <= 0) throw new TypeError(`not a pid: ${pid}`);
}

/** undefined when the file is gone or unreadable: a process can exit between any two reads. */
async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** undefined when the link is gone or unreadable (another user's process, or one that exited). */
async function readLink(path: string): Promise<string | undefined> {
  try {
    return await readlink(path);
  } catch {
    return undefined;
  }
}

/**
 * The process with this pid, or undefined when it is gone or unreadable. Never throws for a
 * vanished pid: the caller watches processes that come and go.
 */
export async function readHostProcess(pid: number, proc = '/proc'): Promise<HostProcess | undefined> {
  checkPid(pid);
  const dir = `${proc}/${pid}`;
  const stat = await readText(`${dir}/stat`);
  if (stat === undefined) return undefined;
  // comm may hold spaces and ')' itself, so it ends at the last ')'.
  const open = stat.indexOf('(');
  const close = stat.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  // After comm come field 3 (state), field 4 (ppid), ... field 22 (starttime).
  const fields = stat
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  const ppid = Number(fields[1]);
  const startTicks = Number(fields[19]);
  if (!Number.isSafeInteger(ppid) || !Number.isSafeInteger(startTicks)) return undefined;
  const cmdline = await readText(`${dir}/cmdline`);
  if (cmdline === undefined) return undefined;
  const args = cmdline.split('\0');
  if (args.at(-1) === '') args.pop();
  return {
    pid,
    ppid,
    comm: stat.slice(open + 1, close),
    cmdline: args,
    startTicks,
    netns: await readLink(`${dir}/ns/net`),
    root: `${dir}/root`,
  };
}

/** Every process in /proc, in pid order; those that exit while the list is read are left out. */
export async function listHostProcesses(proc = '/proc'): Promise<HostProcess[]> {
  const pids = (await readdir(proc))
    .filter((name) => /^\d+$/.test(name))
    .slice(0, MAX_ENTRIES)
    .map(Number)
    .filter((pid) => Number.isSafeInteger(pid) && pid > 0)
    .sort((a, b) => a - b);
  const found: HostProcess[] = [];
  for (let i = 0; i < pids.length; i += READ_BATCH) {
    const batch = await Promise.all(pids.slice(i, i + READ_BATCH).map((pid) => readHostProcess(pid, proc)));
    for (const p of batch) if (p) found.push(p);
  }
  return found;
}

/**
 * The processes whose parent is pid, sorted by pid: e.g. icinga2's umbrella and its workers. The
 * kernel lists each thread's children (/proc/PID/task/TID/children): a few reads where a scan of
 * every process reads them all, which a watch does every second. Where the kernel has no such
 * lists (or pid is gone), every process is scanned.
 */
export async function childrenOf(pid: number, proc = '/proc'): Promise<HostProcess[]> {
  checkPid(pid);
  const listed = await childPids(pid, proc);
  if (listed === undefined) return (await listHostProcesses(proc)).filter((p) => p.ppid === pid);
  const found = await Promise.all(listed.map((child) => readHostProcess(child, proc)));
  return found.filter((p): p is HostProcess => p?.ppid === pid).sort((a, b) => a.pid - b.pid);
}

/** The child pids the kernel lists for pid's threads; undefined where it lists none. */
async function childPids(pid: number, proc: string): Promise<number[] | undefined> {
  const tasks = await readdir(`${proc}/${pid}/task`).catch(() => undefined);
  if (!tasks) return undefined;
  const lists = await Promise.all(
    tasks.slice(0, MAX_ENTRIES).map((task) => readText(`${proc}/${pid}/task/${task}/children`)),
  );
  if (lists.every((list) => list === undefined)) return undefined;
  const pids = lists.flatMap((list) => (list ?? '').split(/\s+/).filter(Boolean).map(Number));
  return [...new Set(pids)].filter((child) => Number.isSafeInteger(child) && child > 0);
}

/**
 * The TCP ports this process itself listens on, sorted and unique. /proc/PID/net/tcp lists every
 * socket in the process's network namespace, so only the sockets among its own fds count.
 */
export async function listeningTcpPorts(pid: number, proc = '/proc'): Promise<number[]> {
  checkPid(pid);
  const dir = `${proc}/${pid}`;
  let fds: string[];
  try {
    fds = await readdir(`${dir}/fd`);
  } catch {
    return [];
  }
  const inodes = new Set<string>();
  for (const link of await Promise.all(fds.map((fd) => readLink(`${dir}/fd/${fd}`)))) {
    const inode = link?.match(/^socket:\[(\d+)\]$/)?.[1];
    if (inode) inodes.add(inode);
  }
  if (inodes.size === 0) return [];
  const ports = new Set<number>();
  for (const table of ['tcp', 'tcp6']) {
    const text = (await readText(`${dir}/net/${table}`)) ?? '';
    // Skip the header; columns: sl local_address rem_address st ... uid timeout inode.
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      const local = cols[1];
      const inode = cols[9];
      if (!local || cols[3] !== '0A' || !inode || !inodes.has(inode)) continue;
      // local_address is hex IP:hex port; the IPv6 address has no ':' of its own here.
      const port = Number.parseInt(local.slice(local.lastIndexOf(':') + 1), 16);
      if (Number.isSafeInteger(port)) ports.add(port);
    }
  }
  return [...ports].sort((a, b) => a - b);
}

/**
 * The IPv4 addresses local to the process's network namespace (loopback left out), sorted by
 * value: where a daemon in a container can be reached. In fib_trie a local address is an address
 * line followed by a "/32 host LOCAL" line.
 */
export async function namespaceAddresses(pid: number, proc = '/proc'): Promise<string[]> {
  checkPid(pid);
  const text = await readText(`${proc}/${pid}/net/fib_trie`);
  if (text === undefined) return [];
  const lines = text.split('\n');
  const found = new Set<string>();
  for (let i = 1; i < lines.length; i++) {
    if (!/^\s*\/32 host LOCAL\s*$/.test(lines[i] ?? '')) continue;
    const address = lines[i - 1]?.match(/^[\s|+`-]*(\d+\.\d+\.\d+\.\d+)\s*$/)?.[1];
    if (address && !address.startsWith('127.')) found.add(address);
  }
  const value = (a: string) => a.split('.').reduce((sum, octet) => sum * 256 + Number(octet), 0);
  return [...found].sort((a, b) => value(a) - value(b));
}
