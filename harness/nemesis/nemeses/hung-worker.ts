import { ErrorCodes, HuntError } from '../../errors.ts';
import { defineNemesis } from '../nemesis.ts';

/**
 * The old worker hung while shutting down: right after a reload signal, the oldest worker (a
 * child of the supervising process of the same name) is stopped (SIGSTOP), so the supervisor's
 * wait for it never ends while the fault lasts; SIGCONT when it ends lets it exit. On Icinga 2
 * (2.11+) the umbrella waits for the old worker before the new one may go: later reload signals
 * only set a flag. Schedule it after `reload-signalled`. Attribute `process` (default: the
 * node's main program).
 */
export default defineNemesis<{ process?: string }>({
  name: 'hung-worker',
  summary: "SIGSTOP the old worker as the node's new one starts (its supervisor waits on it); SIGCONT after",
  parse(a) {
    const process = a.process;
    if (process !== undefined && (typeof process !== 'string' || !/^[A-Za-z0-9._-]{1,15}$/.test(process)))
      throw new HuntError(
        ErrorCodes.USAGE,
        `Nemesis hung-worker: attribute "process" is a program name of 1-15 letters, digits, . _ - , not ${JSON.stringify(process)}.`,
      );
    return process === undefined ? {} : { process };
  },
  check(_target, node, attributes) {
    return attributes.process !== undefined || node.program !== undefined
      ? undefined
      : `${node.name} names no main program: give hung-worker a "process" attribute`;
  },
  async start({ node, target }, attributes) {
    const process = attributes.process ?? (node.program as string);
    const ps = await node.exec(['ps', '-C', process, '-o', 'pid=,ppid=,etimes=']);
    const rows = ps.output
      .trim()
      .split('\n')
      .map((line) => line.trim().split(/\s+/).map(Number))
      .filter((row) => row.length === 3 && row.every(Number.isFinite)) as Array<[number, number, number]>;
    const pids = new Set(rows.map(([pid]) => pid));
    // The supervisor: the one whose parent is not of the same name. Its children are the workers.
    const supervisor = rows.find(([, ppid]) => !pids.has(ppid));
    const workers = rows.filter(([, ppid]) => ppid === supervisor?.[0]).sort((a, b) => b[2] - a[2]);
    const oldest = workers[0];
    if (!supervisor || !oldest)
      throw new HuntError(
        ErrorCodes.USAGE,
        `Nemesis hung-worker: no worker of ${process} under a supervising ${process} in ${node.name} (ps: ${ps.output.trim() || 'nothing'}).`,
      );
    const pid = String(oldest[0]);
    const stopped = await node.exec(['kill', '-STOP', pid]);
    if (stopped.exitCode !== 0)
      throw new Error(`cannot stop worker ${pid} in ${node.name}: ${stopped.output.trim()}`);
    target.run.history.record('nemesis', 'worker-stopped', {
      node: node.name,
      pid: oldest[0],
      workers: workers.length,
    });
    return async () => {
      // It may be gone by now (killed by a restart remedy): nothing left to resume then.
      await node.exec(['kill', '-CONT', pid]);
    };
  },
});
