import { readdir, readFile, readlink } from 'node:fs/promises';
import { readHostProcess } from './host-process.ts';

/** Most lines one list of the snapshot shows (open files, libraries); the rest are counted. */
const MAX_LISTED = 40;
/** Most threads read one by one. */
const MAX_THREADS = 2_000;
/** Most descriptors read one by one. */
const MAX_FDS = 20_000;
/** The lines of /proc/PID/status worth a maintainer's glance. */
const STATUS_FIELDS =
  /^(State|PPid|Threads|VmPeak|VmSize|VmRSS|VmSwap|FDSize|voluntary_ctxt_switches|nonvoluntary_ctxt_switches):/;
/** TCP states as /proc/net/tcp numbers them. */
const TCP_STATES: Record<string, string> = {
  '01': 'established',
  '02': 'syn-sent',
  '03': 'syn-recv',
  '04': 'fin-wait1',
  '05': 'fin-wait2',
  '06': 'time-wait',
  '07': 'close',
  '08': 'close-wait',
  '09': 'last-ack',
  '0A': 'listen',
  '0B': 'closing',
};

/**
 * A process as it was at a moment, in text a maintainer reads in a minute: its status, its
 * threads (by name and state), its open files (by kind; the paths), its TCP sockets on `port` by
 * state, and the libraries it has mapped (which libssl is loaded, not which the package says).
 * For processes the harness did not start (hunt watch), read from /proc; bounded in size.
 */
export async function processSnapshot(
  processes: ReadonlyArray<{ label: string; pid: number }>,
  options: { port?: number; proc?: string } = {},
): Promise<string> {
  const proc = options.proc ?? '/proc';
  const parts: string[] = [];
  for (const { label, pid } of processes) parts.push(await oneProcess(label, pid, options.port, proc));
  return `${parts.join('\n')}\n`;
}

async function oneProcess(
  label: string,
  pid: number,
  port: number | undefined,
  proc: string,
): Promise<string> {
  const process = await readHostProcess(pid, proc);
  if (!process) return `== ${label}: pid ${pid} is gone\n`;
  const dir = `${proc}/${pid}`;
  const lines = [`== ${label}: pid ${pid} (${process.cmdline.join(' ') || process.comm})`];
  const status = await readFile(`${dir}/status`, 'utf8').catch(() => '');
  lines.push(
    ...status
      .split('\n')
      .filter((line) => STATUS_FIELDS.test(line))
      .map((line) => `  ${line.replace(/\t/g, ' ')}`),
  );
  lines.push(await threads(dir), ...(await openFiles(dir, port)), await libraries(dir));
  return `${lines.join('\n')}\n`;
}

/** Threads by name and state: "12 threads: icinga2 x1 (S), ThreadPool x8 (S), ...". */
async function threads(dir: string): Promise<string> {
  const ids = (await readdir(`${dir}/task`).catch(() => [] as string[])).slice(0, MAX_THREADS);
  const counts = new Map<string, number>();
  for (const id of ids) {
    const stat = await readFile(`${dir}/task/${id}/stat`, 'utf8').catch(() => '');
    const close = stat.lastIndexOf(')');
    if (close < 0) continue;
    const name = stat.slice(stat.indexOf('(') + 1, close);
    const state = stat.slice(close + 2, close + 3);
    const key = `${name} (${state})`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const named = [...counts].sort((a, b) => b[1] - a[1]).map(([key, n]) => `${key} x${n}`);
  return `  threads (${ids.length}): ${named.join(', ')}`;
}

/** Open files by kind, the paths among them, and the TCP sockets by state (on `port` apart). */
async function openFiles(dir: string, port: number | undefined): Promise<string[]> {
  const fds = (await readdir(`${dir}/fd`).catch(() => [] as string[])).slice(0, MAX_FDS);
  const kinds = new Map<string, number>();
  const paths: string[] = [];
  const sockets = new Set<string>();
  for (const fd of fds) {
    const target = await readlink(`${dir}/fd/${fd}`).catch(() => '');
    const socket = /^socket:\[(\d+)\]$/.exec(target);
    const kind = socket
      ? 'socket'
      : target.startsWith('/')
        ? 'file'
        : (/^([a-z_]+)[:[]/.exec(target)?.[1] ?? 'other');
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    if (socket) sockets.add(socket[1] as string);
    else if (kind === 'file') paths.push(`${fd} -> ${target}`);
  }
  const lines = [
    `  open files (${fds.length}): ${[...kinds].map(([kind, n]) => `${kind} ${n}`).join(', ')}`,
    ...paths.slice(0, MAX_LISTED).map((path) => `    ${path}`),
  ];
  if (paths.length > MAX_LISTED) lines.push(`    and ${paths.length - MAX_LISTED} more files`);
  lines.push(await tcpSockets(dir, sockets, port));
  return lines;
}

/** The process's own TCP sockets by state; those on `port` (the listener's) apart. */
async function tcpSockets(
  dir: string,
  inodes: ReadonlySet<string>,
  port: number | undefined,
): Promise<string> {
  const onPort = new Map<string, number>();
  const elsewhere = new Map<string, number>();
  for (const table of ['tcp', 'tcp6']) {
    const text = await readFile(`${dir}/net/${table}`, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const columns = line.trim().split(/\s+/);
      if (columns.length < 10 || !inodes.has(columns[9] as string)) continue;
      const local = Number.parseInt((columns[1] ?? '').split(':').at(-1) ?? '', 16);
      const state = TCP_STATES[columns[3] ?? ''] ?? columns[3] ?? '?';
      const counts = local === port ? onPort : elsewhere;
      counts.set(state, (counts.get(state) ?? 0) + 1);
    }
  }
  const list = (counts: Map<string, number>) =>
    [...counts].map(([state, n]) => `${state} ${n}`).join(', ') || 'none';
  return port === undefined
    ? `  TCP sockets: ${list(elsewhere)}`
    : `  TCP sockets on port ${port}: ${list(onPort)}; elsewhere: ${list(elsewhere)}`;
}

/** The shared libraries mapped, by path: which OpenSSL is really loaded. */
async function libraries(dir: string): Promise<string> {
  const maps = await readFile(`${dir}/maps`, 'utf8').catch(() => '');
  const mappings = maps.split('\n').filter(Boolean);
  const libs = [
    ...new Set(mappings.map((line) => line.split(/\s+/)[5] ?? '').filter((path) => /\.so(\.|$)/.test(path))),
  ].sort();
  // The TLS libraries first, whatever else is mapped: they are why anyone reads this list.
  const tls = (lib: string) => /\/lib(ssl|crypto)[.-]/.test(lib);
  libs.sort((a, b) => Number(tls(b)) - Number(tls(a)));
  const shown = libs.slice(0, MAX_LISTED).map((lib) => `    ${lib}`);
  if (libs.length > MAX_LISTED) shown.push(`    and ${libs.length - MAX_LISTED} more`);
  return [`  memory: ${mappings.length} mappings, ${libs.length} libraries:`, ...shown].join('\n');
}
