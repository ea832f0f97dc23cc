import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** One process of a fake /proc tree, for code that reads processes (seam/host-process.ts). */
export interface FakeProcess {
  pid: number;
  ppid: number;
  comm: string;
  argv?: string[];
  startTicks?: number;
  netns?: string;
  /** The whole of /proc/PID/cgroup; none: no such file. */
  cgroup?: string;
  /** Where /proc/PID/exe points; none: an unreadable link. */
  exe?: string;
  /** fd number -> link target, e.g. 'socket:[1001]'. */
  fds?: Record<string, string>;
  tcp?: string;
  tcp6?: string;
  fibTrie?: string;
  /** Files in the process's own file system (under /proc/PID/root): absolute path -> content. */
  rootFiles?: Record<string, string>;
}

/** A /proc/PID directory laid out as the kernel lays it out, with real symlinks for ns/net, exe and fd/*. */
export async function fakeProcess(proc: string, p: FakeProcess): Promise<void> {
  const dir = `${proc}/${p.pid}`;
  await mkdir(`${dir}/ns`, { recursive: true });
  await mkdir(`${dir}/fd`);
  await mkdir(`${dir}/net`);
  await mkdir(`${dir}/root`);
  await writeFile(
    `${dir}/stat`,
    `${p.pid} (${p.comm}) S ${p.ppid} ${p.pid} ${p.ppid} 0 -1 4194560 1452 0 0 0 12 5 0 0 20 0 3 0 ${p.startTicks ?? 2215366} ` +
      '1030762496 9543 18446744073709551615 1 1 0 0 0 0 0 4096 17475 0 0 0 17 2 0 0 0 0 0 0 0 0 0 0 0 0 0\n',
  );
  await writeFile(`${dir}/cmdline`, p.argv ? `${p.argv.join('\0')}\0` : '');
  if (p.cgroup !== undefined) await writeFile(`${dir}/cgroup`, p.cgroup);
  if (p.netns) await symlink(p.netns, `${dir}/ns/net`);
  if (p.exe) await symlink(p.exe, `${dir}/exe`);
  for (const [fd, target] of Object.entries(p.fds ?? {})) await symlink(target, `${dir}/fd/${fd}`);
  if (p.tcp !== undefined) await writeFile(`${dir}/net/tcp`, p.tcp);
  if (p.tcp6 !== undefined) await writeFile(`${dir}/net/tcp6`, p.tcp6);
  if (p.fibTrie !== undefined) await writeFile(`${dir}/net/fib_trie`, p.fibTrie);
  for (const [path, content] of Object.entries(p.rootFiles ?? {})) {
    await mkdir(dirname(`${dir}/root${path}`), { recursive: true });
    await writeFile(`${dir}/root${path}`, content);
  }
}
